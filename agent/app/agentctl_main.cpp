// agentctl: watch and steer agentd (SPEC section 6). Everything lives in agent/ctl.
#include "agent/ctl/commands.h"

int main(int argc, char** argv) {
    return agentd::ctl::run_agentctl(argc, argv);
}
