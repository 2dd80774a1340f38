// agentctl: watch and steer agentd (SPEC section 6). Everything lives in agent/ctl.
#include "agent/ctl/commands.h"

// GnuTLS is in the process only as a dependency of Debian's libcurl (through librtmp and
// libldap, for protocols agentd never enables), yet its library constructor initialises it in
// every process that loads it: about 0.7 MB of resident memory and some start-up time. This
// strong definition of the library's weak symbol is GnuTLS's documented opt-out (the
// GNUTLS_SKIP_GLOBAL_INIT macro of gnutls.h); meson.build exports it so that the library sees
// it. librtmp and libldap call gnutls_global_init() themselves before they use GnuTLS.
extern "C" int _gnutls_global_init_skip() {
    return 1;
}

int main(int argc, char** argv) {
    return agentd::ctl::run_agentctl(argc, argv);
}
