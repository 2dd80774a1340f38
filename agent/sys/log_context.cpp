#include "agent/sys/log_context.h"

#include <utility>

namespace agentd::sys {
namespace {

thread_local LogContext t_context;

}  // namespace

const LogContext& current_log_context() {
    return t_context;
}

LogScope::LogScope(std::string stack, std::optional<std::int64_t> deployment)
    : m_previous(std::exchange(t_context, LogContext{std::move(stack), deployment})) {}

LogScope::~LogScope() {
    t_context = std::move(m_previous);
}

}  // namespace agentd::sys
