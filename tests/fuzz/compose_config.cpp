// `compose config` output (agent/runtime/compose_runner parse_compose_config): compose prints
// the project's files normalised, and those files come from the deploy repository.
// Invariants: services come sorted by name without duplicates; "no" is never a restart policy.

#include "agent/runtime/compose_runner.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto services = runtime::parse_compose_config(std::string(fuzz::as_text(data, size)));
    if (!services) {
        FUZZ_CHECK(!services.error().message.empty());
        return 0;
    }
    for (std::size_t i = 0; i < services->size(); ++i) {
        FUZZ_CHECK((*services)[i].restart != "no");
        if (i > 0) {
            FUZZ_CHECK((*services)[i - 1].name < (*services)[i].name);
        }
    }
    return 0;
}
