// Sigstore trusted roots (agent/sigstore/trusted_root): an administrator's `trusted_root` file,
// or a private Sigstore's. Invariants: a root that parses has certificates and log keys that
// are not empty, logs with a log ID and a validity start, and chains of 1 to 10 certificates;
// errors are InvalidInput and not empty.

#include "agent/sigstore/trusted_root.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto root = sigstore::parse_trusted_root(fuzz::as_text(data, size));
    if (!root) {
        FUZZ_CHECK(root.error().kind == sys::Error::Kind::InvalidInput);
        FUZZ_CHECK(!root.error().message.empty());
        return 0;
    }
    for (const auto* authorities : {&root->certificate_authorities, &root->timestamp_authorities}) {
        FUZZ_CHECK(authorities->size() <= 64);
        for (const auto& ca : *authorities) {
            FUZZ_CHECK(!ca.certificates.empty() && ca.certificates.size() <= 10);
            for (const auto& der : ca.certificates) {
                FUZZ_CHECK(!der.empty());
            }
        }
    }
    for (const auto* logs : {&root->tlogs, &root->ctlogs}) {
        FUZZ_CHECK(logs->size() <= 64);
        for (const auto& log : *logs) {
            FUZZ_CHECK(!log.public_key.empty());
            FUZZ_CHECK(!log.log_id.empty());
            FUZZ_CHECK(log.valid_for.start.has_value());
        }
    }
    if (!root->tlogs.empty()) {
        FUZZ_CHECK(root->find_tlog(root->tlogs.front().log_id) != nullptr);
    }
    return 0;
}
