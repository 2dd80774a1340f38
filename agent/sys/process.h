#pragma once
// Running programs: always an argument vector, never a shell.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/process_groups.h"
#include "agent/sys/result.h"

namespace agentd::sys {

struct ProcessSpec {
    std::vector<std::string> argv;                ///< argv[0] is looked up in PATH
    std::filesystem::path cwd;                    ///< empty: the caller's
    std::map<std::string, std::string> env;       ///< added to (and overriding) the inherited env
    std::optional<std::string> stdin_data;        ///< empty: stdin is /dev/null
    Duration timeout = std::chrono::minutes(10);  ///< killed (SIGKILL) after this
};

struct ProcessResult {
    int exit_code = -1;  ///< -1 when killed by a signal or timed out
    bool timed_out = false;
    std::string out;
    std::string err;
    bool success() const { return exit_code == 0 && !timed_out; }
};

/// The last 10 non-empty lines of a program's output (trailing spaces trimmed), at most 2000
/// characters: where a tool (compose, nginx) says what went wrong.
std::string output_tail(const std::string& text);
/// True when the program ended by itself with an exit status (not killed, not timed out).
bool exited(const ProcessResult& r);
/// "timed out", "killed by a signal", or "exit N: <stderr's tail, else stdout's>".
std::string describe_exit(const ProcessResult& r);

class ProcessRunner {
public:
    virtual ~ProcessRunner() = default;
    /// Runs the program to completion. An error means it could not be started at all
    /// (NotFound when argv[0] does not exist); a non-zero exit is a ProcessResult.
    virtual Result<ProcessResult> run(const ProcessSpec& spec) = 0;
};

/// fork + exec, argv only. Each child runs in its own process group (killed as a whole on
/// timeout) and dies with agentd (PR_SET_PDEATHSIG SIGKILL); with `groups`, the group is recorded
/// while the child runs, so the next agentd can kill what it started (ProcessGroups).
class PosixProcessRunner final : public ProcessRunner {
public:
    explicit PosixProcessRunner(std::shared_ptr<ProcessGroups> groups = nullptr)
        : m_groups(std::move(groups)) {}
    Result<ProcessResult> run(const ProcessSpec& spec) override;

private:
    std::shared_ptr<ProcessGroups> m_groups;
};

/// Finds `program` in PATH; nullopt when absent.
std::optional<std::filesystem::path> find_program(const std::string& program);

}  // namespace agentd::sys
