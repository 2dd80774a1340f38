// agentd: the GitOps agent daemon (SPEC section 7). Everything lives in agent/daemon.
#include "agent/daemon/agentd_command.h"

int main(int argc, char** argv) {
    return agentd::daemon::run_agentd(argc, argv);
}
