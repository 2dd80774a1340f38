#pragma once
// What the log records of a thread are about: the stack whose cycle a worker runs, the
// deployment it is making. The journal sink (sys/log.cpp) sends them as AGENTD_STACK= and
// AGENTD_DEPLOYMENT=, so `journalctl AGENTD_STACK=shop` finds every record of shop's cycles,
// including those of the layers below (git, registry, compose) that do not know which stack
// they serve. A scope per thread rather than a parameter of every log call: threading a stack
// name through every interface only for its log lines would be noise in each of them, and a
// thread runs one stack's job at a time. The message text still names the stack for stderr.

#include <cstdint>
#include <optional>
#include <string>

namespace agentd::sys {

struct LogContext {
    std::string stack;                       // empty: no stack
    std::optional<std::int64_t> deployment;  // nullopt: no deployment
};

/// The calling thread's context: the innermost LogScope alive on it, empty outside any.
const LogContext& current_log_context();

/// Sets the calling thread's log context until it ends, then restores the one before, so
/// scopes nest (a deployment's scope inside its stack's). Neither copied nor moved: it belongs
/// to the block that made it, on that block's thread.
class LogScope {
public:
    explicit LogScope(std::string stack, std::optional<std::int64_t> deployment = std::nullopt);
    ~LogScope();
    LogScope(const LogScope&) = delete;
    LogScope& operator=(const LogScope&) = delete;

private:
    LogContext m_previous;
};

}  // namespace agentd::sys
