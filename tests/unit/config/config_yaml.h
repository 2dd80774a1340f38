#pragma once
// What the configuration tests share: the errors a YAML text gets, and small valid files to
// add a key to, so that each test names the line and column its key lands on.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/config/config.h"

namespace agentd::testing {

/// The issues parse_config reports for `yaml`, one line each; fails the test when it loads.
inline std::vector<std::string> errors_of(const std::string& yaml) {
    try {
        config::parse_config(yaml, "agent.yaml");
    } catch (const config::ConfigError& e) {
        std::vector<std::string> lines;
        for (const config::Issue& issue : e.issues()) {
            lines.push_back(issue.to_string());
        }
        return lines;
    }
    FAIL("expected a ConfigError for:\n" << yaml);
    return {};
}

/// The one issue `yaml` gets.
inline std::string error_of(const std::string& yaml) {
    const auto errors = errors_of(yaml);
    INFO(yaml);
    REQUIRE(errors.size() == 1);
    return errors[0];
}

/// A valid stack; what `extra` adds starts on line 4, indented as a stack key (column 5).
inline std::string stack_with(const std::string& extra) {
    return "stacks:\n"
           "  - name: shop\n"
           "    dir: /srv/shop\n" +
           extra;
}

/// A valid git stack; `git_extra` starts on line 5 as a key of git (column 7).
inline std::string git_with(const std::string& git_extra) {
    return "stacks:\n"
           "  - name: shop\n"
           "    git:\n"
           "      url: https://example.com/deploy.git\n" +
           git_extra;
}

/// A registry; `extra` starts on line 3 as a key of the registry (column 5).
inline std::string registry_with(const std::string& host, const std::string& extra) {
    return "registries:\n"
           "  - host: " +
           host + "\n" + extra;
}

}  // namespace agentd::testing
