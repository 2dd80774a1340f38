#pragma once
// Which repository files a stack reads, and what a new revision changes among them.
//
// A commit to a deploy repository is a new release only for the stacks whose inputs it touches
// (SPEC section 1): the stack's directory (git.path, which holds its compose files and .env),
// every file the compose configuration pulls in (include, extends, env_file), and the files
// its services read at run time: build contexts and Dockerfiles, bind-mount sources, and the
// `file:` of configs and secrets. Paths outside the repository are the host's: git does not
// version them, so they never make a release.
//
// compose's own `up` recreates a container only when its configuration changes; a new
// Dockerfile or a new content of a bind-mounted file is not a configuration change. So the
// services whose build inputs changed are built again, and those whose bind-mounted inputs
// changed are recreated; nothing else is touched.
//
// collect_inputs reads one revision's checkout (raw compose files, symlinks) and never leaves
// it; compare_inputs is a pure decision given a way to ask git which paths changed.

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/runtime/compose.h"
#include "agent/sys/result.h"

namespace agentd::deploy {

/// The repository paths one revision of a stack reads, relative to the repository root ("" is
/// the root itself; a directory stands for everything below it).
struct StackInputs {
    /// Everything the stack reads: a change to any of these is a new release for it.
    std::set<std::string> paths;
    /// The compose files and every file they pull in through include or extends: where build
    /// sections (args, target, dockerfile) are written.
    std::set<std::string> definitions;
    /// service -> its build context, Dockerfile and additional build contexts.
    std::map<std::string, std::set<std::string>> build;
    /// service -> the repository files and directories it bind-mounts (volumes, and the files
    /// of its configs and secrets, which compose mounts too).
    std::map<std::string, std::set<std::string>> mounted;
    /// What was not followed, one line each: host paths, escapes from the repository,
    /// unreadable files, include/extends cycles. For logs.
    std::vector<std::string> notes;

    bool operator==(const StackInputs&) const = default;
};

/// One revision's files and what compose made of them.
struct InputsSource {
    std::filesystem::path root;         ///< the checkout of the revision: the repository root
    std::filesystem::path project_dir;  ///< compose's project directory (absolute, under root)
    std::vector<std::filesystem::path> compose_files;  ///< absolute, in compose's order
    /// Values for ${VAR} in paths of the raw files (the process environment compose gets); the
    /// project's .env fills in the rest, as compose does.
    std::map<std::string, std::string> env;
};

/// The inputs of the revision checked out at source.root. `services` is compose's normalised
/// `config` of that checkout (its paths are absolute, under source.project_dir). Raw compose
/// files are read for what the normalised output does not keep (include, extends.file,
/// env_file with compose v1), recursively: at most k_max_depth levels and k_max_files files,
/// each file once, none outside the repository (symlinks are resolved inside the checkout and
/// a symlink leaving it is not followed; the link itself is an input).
StackInputs collect_inputs(const InputsSource& source,
                           const std::vector<runtime::ComposeService>& services);

inline constexpr int k_max_depth = 16;
inline constexpr std::size_t k_max_files = 256;
inline constexpr std::size_t k_max_file_size = 1u << 20;

/// Which of `paths` (repository paths) differ between the two revisions compared.
using ChangedPaths =
    std::function<sys::Result<std::set<std::string>>(const std::vector<std::string>& paths)>;

/// What a revision changes for a stack, compared with the release that runs.
struct InputChanges {
    bool changed = false;               ///< some input changed: this is a new release
    std::vector<std::string> paths;     ///< the inputs that changed, sorted
    std::vector<std::string> rebuild;   ///< build services whose build inputs or definition changed
    std::vector<std::string> recreate;  ///< services whose bind-mounted inputs changed

    bool operator==(const InputChanges&) const = default;
};

/// Asks `changed` once, about every path in `inputs` (the inputs of the new revision: a file
/// that stopped being an input is only dropped by editing one that still is). A build service
/// is rebuilt when its build inputs or a definition file changed (compose recreates it when the
/// build gives it a new image); a service is recreated when something it mounts changed.
/// The error of `changed`, if any.
sys::Result<InputChanges> compare_inputs(const StackInputs& inputs, const ChangedPaths& changed);

/// One line for events and logs: "stack/nginx.conf, common/web.env; rebuild app; recreate web".
std::string describe(const InputChanges& changes);

}  // namespace agentd::deploy
