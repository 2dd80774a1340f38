#pragma once
// Notifications (SPEC section 2, `notifications:`): what a cycle ended with, turned into rows
// of the outbox, and their delivery.
//
// Putting a notification in the outbox is a database insert and nothing else, so a slow or
// dead receiver never delays a deployment or a poll; `NotificationSender` delivers the rows
// on a thread of its own (Daemon::serve), with its own HTTP client, retrying with backoff
// (notify/backoff.h). A receiver's URL carries its token: rows name it by a key (a hash of the
// URL), logs by its label ("slack #1"), and no error text keeps it (notify::redact_url).

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/config/config.h"
#include "agent/deploy/reconciler.h"
#include "agent/notify/alerts.h"
#include "agent/notify/backoff.h"
#include "agent/notify/filter.h"
#include "agent/state/outbox.h"
#include "agent/state/store.h"
#include "agent/sys/http.h"

namespace agentd::daemon {

/// A receiver in force: its configuration and its URL (url_file read).
struct NotificationTarget {
    config::Notification config;
    std::string url;
    std::string key;  ///< target_key(url): what outbox rows name it by
};

/// A stable key of a receiver's URL that does not reveal it: 16 hex digits of its SHA-256.
std::string target_key(const std::string& url);

/// The receivers of `notifications` with their URLs: `url`, or `url_file` read (a relative
/// name in $CREDENTIALS_DIRECTORY; one line, surrounding white space ignored). An error names
/// the receiver's label and the file, never its content.
sys::Result<std::vector<NotificationTarget>> resolve_targets(
    const std::vector<config::Notification>& notifications);

/// Turns what happened into outbox rows, per receiver: its Alerts decide what to send, its
/// `events:` whether it wants it, its format how. Thread-safe (workers call it at the end of
/// each cycle); the outbox is a connection of its own, used under a lock.
class NotificationCenter {
public:
    NotificationCenter(std::unique_ptr<state::Outbox> outbox, sys::Clock& clock);

    /// The receivers in force (at start and after a reload). A receiver with the same key and
    /// thresholds keeps what its Alerts remember; another starts from what state.db kept for
    /// its key (what its Alerts remembered before a restart).
    void set_targets(std::vector<NotificationTarget> targets);
    std::vector<NotificationTarget> targets() const;

    /// agentd started.
    void started(const std::string& detail);
    /// A job of `stack` ended with `result`; `store` gives the deployment's release and reason.
    /// Never throws: a failure to read or enqueue is logged.
    void cycle_ended(const std::string& stack, const deploy::CycleResult& result,
                     state::Store& store);

    /// Called after rows were added (the sender's wake-up).
    void on_enqueued(std::function<void()> wake);

private:
    struct Receiver {
        NotificationTarget target;
        notify::EventFilter filter;
        notify::Alerts alerts;
        std::string saved;  // alerts.save() as last written to the outbox's alert memory
    };
    // A new receiver's alerts, with what state.db remembers for it.
    Receiver load(NotificationTarget target);
    // Writes what `receiver`'s alerts remember when it changed.
    void save(Receiver& receiver);
    // Which of a receiver's Alerts methods sees the event.
    using Decide = std::function<std::vector<notify::Notification>(notify::Alerts&)>;
    void dispatch(const Decide& decide);

    std::unique_ptr<state::Outbox> m_outbox;
    sys::Clock& m_clock;
    mutable std::mutex m_mutex;
    std::vector<Receiver> m_receivers;
    std::function<void()> m_wake;
};

/// Delivers the outbox's due rows: one POST each, through its own HTTP client.
class NotificationSender {
public:
    static constexpr int k_batch = 16;
    /// Short: a receiver that hangs holds only this thread, and only this long per attempt.
    static constexpr sys::Duration k_timeout = std::chrono::seconds(5);

    NotificationSender(state::Outbox& outbox, sys::HttpClient& http, sys::Clock& clock,
                       notify::RetryPolicy policy = {});

    /// One attempt for each row due now (at most k_batch); returns how many were taken.
    /// A receiver that does not answer (a timeout, a refused connection) is not asked again in
    /// the same batch: its other rows count a failed attempt and wait, so a receiver that hangs
    /// costs one timeout per batch. A row whose receiver is no longer configured is given up.
    /// Throws StoreError.
    int deliver_due(const std::vector<NotificationTarget>& targets);

private:
    state::Outbox& m_outbox;
    sys::HttpClient& m_http;
    sys::Clock& m_clock;
    notify::RetryPolicy m_policy;
};

/// The thread that runs a NotificationSender: it delivers what is due, then sleeps until the
/// next row is due, a wake() (a row was added) or the end. Stopped and joined by its destructor
/// (an attempt in flight ends within NotificationSender::k_timeout).
class NotificationThread {
public:
    NotificationThread(NotificationCenter& center, std::unique_ptr<state::Outbox> outbox,
                       std::unique_ptr<sys::HttpClient> http, sys::Clock& clock);
    ~NotificationThread();
    NotificationThread(const NotificationThread&) = delete;
    NotificationThread& operator=(const NotificationThread&) = delete;

    void wake();

private:
    void run();

    NotificationCenter& m_center;
    std::unique_ptr<state::Outbox> m_outbox;
    std::unique_ptr<sys::HttpClient> m_http;
    sys::Clock& m_clock;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_woken = false;
    bool m_stop = false;
    std::thread m_thread;  // last: started once the members above exist
};

}  // namespace agentd::daemon
