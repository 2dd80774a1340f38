#pragma once
// Pure predicates on single values of agent.yaml. Each "problem" function returns nullopt when
// the value is fine, else why it is not, worded to follow `"x" is not ...: `.

#include <optional>
#include <string>
#include <string_view>

namespace agentd::config {

/// A git branch name as `git check-ref-format --branch` accepts it: no "..", "@{", "//",
/// spaces, control characters or any of ~^:?*[\; not starting with '-' or '/', no component
/// starting with '.' or ending in ".lock", not ending in '/' or '.', not "@".
std::optional<std::string> branch_name_problem(std::string_view name);

/// A relative path that stays inside its base: not absolute and without ".." components.
bool is_relative_inside(std::string_view path);

/// A registry host as Docker writes it: "ghcr.io", "registry.lan:5000", "[::1]:5000";
/// nullopt when fine, else the problem ("has a scheme", "has a path", ...).
std::optional<std::string> registry_host_problem(std::string_view host);

/// Host names compare case-insensitively.
bool same_host(std::string_view a, std::string_view b);

}  // namespace agentd::config
