#pragma once
// `agentctl sync STACK --wait`: follows the stack's live progress (GET /v1/events) on a thread
// of its own while the command's own request waits for the cycle. It subscribes before that
// request is sent, so nothing of the cycle is missed, and stops at the cycle's "end" line: the
// one naming its request() id (the command sends it with the request), or, from an agentd that
// does not echo it, the one matching the request's answer (agentd publishes the end before it
// answers).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/sys/clock.h"
#include "agent/sys/http.h"

namespace agentd::ctl {

class ProgressFollower {
public:
    /// `show` is called with every line (the cycle's end too), on the follower's thread, one
    /// at a time; `http` is used by that thread only.
    using Show = std::function<void(const nlohmann::json& line)>;
    ProgressFollower(sys::HttpClient& http, std::string socket, std::string stack, Show show);
    ~ProgressFollower();
    ProgressFollower(const ProgressFollower&) = delete;
    ProgressFollower& operator=(const ProgressFollower&) = delete;

    /// Subscribes, waiting up to `wait` for agentd to confirm (its "subscribed" line). False
    /// when it did not (an agentd without live progress, an unknown stack): then nothing is
    /// shown, and the command goes on without.
    bool start(sys::Duration wait);
    /// The id to send with the command's request ("request"), so that agentd names it in the
    /// cycle's end line: random, one per follower.
    const std::string& request() const { return m_request; }
    /// The command's request answered `result` ({"outcome","deployment"}): shows what is left
    /// up to that cycle's end line, waiting up to `wait` for it, then stops following. Returns
    /// the end line, or nullopt when it did not come.
    std::optional<nlohmann::json> finish(const nlohmann::json& result, sys::Duration wait);

private:
    void run();
    bool take(const nlohmann::json& line);  // on the thread: false stops the stream
    bool is_target(const nlohmann::json& end) const;

    sys::HttpClient& m_http;
    std::string m_socket;
    std::string m_stack;
    std::string m_request;
    Show m_show;
    std::thread m_thread;
    std::mutex m_show_mutex;  // held while a line is shown
    std::mutex m_mutex;       // guards what follows
    std::condition_variable m_changed;
    bool m_subscribed = false;
    bool m_over = false;                   // the stream ended (or never began)
    bool m_stop = false;                   // stop at the next line
    std::optional<nlohmann::json> m_want;  // the result whose end line ends the following
    std::vector<nlohmann::json> m_ends;    // end lines seen before m_want was known
    std::optional<nlohmann::json> m_end;   // the end line of m_want
};

}  // namespace agentd::ctl
