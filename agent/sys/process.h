#pragma once
// Running programs: always an argument vector, never a shell.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
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

class ProcessRunner {
public:
    virtual ~ProcessRunner() = default;
    /// Runs the program to completion. An error means it could not be started at all
    /// (NotFound when argv[0] does not exist); a non-zero exit is a ProcessResult.
    virtual Result<ProcessResult> run(const ProcessSpec& spec) = 0;
};

class PosixProcessRunner final : public ProcessRunner {
public:
    Result<ProcessResult> run(const ProcessSpec& spec) override;
};

/// Finds `program` in PATH; nullopt when absent.
std::optional<std::filesystem::path> find_program(const std::string& program);

}  // namespace agentd::sys
