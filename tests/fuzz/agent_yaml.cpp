// agent.yaml (agent/config parse_config): written by the administrator, but a parser must
// refuse bad input with issues, never crash.
// Invariants: a refusal has at least one issue, each with a message and a non-negative
// position; an accepted configuration has valid, distinct stack names.

#include <set>

#include "agent/config/config.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(fuzz::as_text(data, size));
    try {
        const config::Config config = config::parse_config(text, "agent.yaml");
        std::set<std::string> names;
        for (const auto& stack : config.stacks) {
            FUZZ_CHECK(config::valid_stack_name(stack.name));
            FUZZ_CHECK(names.insert(stack.name).second);
        }
    } catch (const config::ConfigError& e) {
        FUZZ_CHECK(!e.issues().empty());
        for (const auto& issue : e.issues()) {
            FUZZ_CHECK(!issue.message.empty() && issue.line >= 0 && issue.column >= 0);
            (void)issue.to_string();
        }
    }
    return 0;
}
