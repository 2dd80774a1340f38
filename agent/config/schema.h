#pragma once
// The sections of agent.yaml below the top level: defaults, stacks and registries. Each reader
// reports every problem to the Reader and returns what it could read.

#include <optional>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/yaml_reader.h"

namespace agentd::config {

/// The stack keys that `defaults` may also set, each unset unless written. A stack takes each
/// field from itself, else from `defaults`, else the built-in default (health per field).
struct StackFields {
    std::optional<std::vector<std::string>> compose_files;
    std::optional<std::filesystem::path> env_file;
    std::optional<std::vector<std::filesystem::path>> env_files;
    std::optional<sys::Duration> poll_interval;
    std::optional<sys::Duration> image_wait;
    std::optional<sys::Duration> health_timeout;
    std::optional<sys::Duration> health_stable;
    std::optional<std::vector<HttpProbe>> health_http;
    std::optional<OnFailure> on_failure;
    std::optional<Approval> approval;
    std::optional<sys::Duration> min_age;
    std::optional<policy::Window> window;
    std::optional<bool> no_downgrade;
    std::optional<Drift> drift;
    std::optional<int> keep_releases;
    // Where health.timeout and health.stable were written, for "stable must be shorter".
    std::optional<Entry> timeout_entry;
    std::optional<Entry> stable_entry;
};

/// `defaults:` (its entry path is "defaults"). `age_identity_file` is the top-level key's value
/// (empty when unset): an ".age" env file without one is reported.
StackFields read_defaults(Reader& reader, const Entry& entry,
                          const std::filesystem::path& age_identity_file);
/// `stacks:` with `defaults` applied; names are checked for uniqueness.
std::vector<Stack> read_stacks(Reader& reader, const Entry& entry, const StackFields& defaults,
                               const std::filesystem::path& age_identity_file);
/// `registries:`; hosts are checked for uniqueness.
std::vector<Registry> read_registries(Reader& reader, const Entry& entry);

}  // namespace agentd::config
