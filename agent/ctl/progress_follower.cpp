#include "agent/ctl/progress_follower.h"

#include <random>

#include <fmt/format.h>

#include "agent/ctl/api_client.h"
#include "agent/sys/url.h"

namespace agentd::ctl {

using nlohmann::json;

namespace {

std::string random_request_id() {
    std::random_device random;
    return fmt::format("{:08x}{:08x}", random(), random());
}

}  // namespace

ProgressFollower::ProgressFollower(sys::HttpClient& http, std::string socket, std::string stack,
                                   Show show)
    : m_http(http),
      m_socket(std::move(socket)),
      m_stack(std::move(stack)),
      m_request(random_request_id()),
      m_show(std::move(show)) {}

ProgressFollower::~ProgressFollower() {
    {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    // The stream sees the stop at its next line: agentd sends one at least every few seconds.
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

bool ProgressFollower::start(sys::Duration wait) {
    m_thread = std::thread([this] { run(); });
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, wait, [&] { return m_subscribed || m_over; });
    if (!m_subscribed) {
        m_stop = true;
        return false;
    }
    return true;
}

std::optional<json> ProgressFollower::finish(const json& result, sys::Duration wait) {
    std::unique_lock lock(m_mutex);
    m_want = result;
    for (const auto& end : m_ends) {
        if (is_target(end)) {
            m_end = end;
        }
    }
    m_changed.wait_for(lock, wait, [&] { return m_end.has_value() || m_over; });
    m_stop = true;
    auto end = m_end;
    lock.unlock();
    // Nothing is shown after this: a line being shown is finished first, and every later one
    // sees m_stop.
    const std::lock_guard showing(m_show_mutex);
    return end;
}

void ProgressFollower::run() {
    ApiClient api(m_http, m_socket);
    (void)api.stream(
        "/v1/events?stack=" + sys::url_encode(m_stack),
        [this](const json& line) { return take(line); },
        [this] {
            const std::lock_guard lock(m_mutex);
            return m_stop;
        });
    const std::lock_guard lock(m_mutex);
    m_over = true;
    m_changed.notify_all();
}

bool ProgressFollower::take(const json& line) {
    const std::string type = line.value("type", "");
    const std::lock_guard showing(m_show_mutex);  // finish() waits for a line being shown
    std::unique_lock lock(m_mutex);
    if (m_stop) {
        return false;
    }
    bool more = true;
    if (type == "subscribed") {
        m_subscribed = true;
        m_changed.notify_all();
    } else if (type == "end") {
        // Its own end ends the stream at once: waiting for finish() to tell it would leave the
        // stream open until curl next looks at the stop (up to a second).
        if (line.value("request", "") == m_request || (m_want && is_target(line))) {
            m_end = line;
            m_stop = true;
            more = false;
            m_changed.notify_all();
        } else if (!m_want) {
            m_ends.push_back(line);  // an earlier cycle's, or this one's before the answer
        }
    }
    lock.unlock();
    m_show(line);
    return more;
}

bool ProgressFollower::is_target(const json& end) const {
    return end.value("status", "") == m_want->value("outcome", "") &&
           end.value("deployment", json()) == m_want->value("deployment", json());
}

}  // namespace agentd::ctl
