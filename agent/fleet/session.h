#pragma once
// FleetSession: this host's membership in the fleet, over etcd. It keeps one lease alive (its
// slots are bound to it: a host that dies frees them when the lease runs out), answers the
// pipeline's turns from a fresh read of the stack's keys, and watches the group's keys so that
// a stack waiting for its turn is woken when something changed, instead of polling etcd.
// Three threads of its own, each with its own etcd client: the keeper keeps the lease alive and
// never waits for anything else (a pipeline's call stuck on an etcd without a leader must not
// cost the host its slots), the retrier writes again the ends of turns etcd did not take, and
// the watcher follows the group's keys.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "agent/fleet/admin.h"
#include "agent/fleet/coordinator.h"
#include "agent/fleet/etcd.h"
#include "agent/sys/clock.h"

namespace agentd::fleet {

struct FleetSettings {
    std::string group;
    std::string host;
    int max_updating = 1;
    sys::Duration soak{0};
    sys::Duration lease_ttl = std::chrono::seconds(15);
    /// Per stack: is this host a canary, and how many hosts the others wait for. A stack not
    /// listed: a canary waiting for nobody.
    std::map<std::string, RolloutRules> rules;
};

class FleetSession final : public Coordinator, public Admin {
public:
    /// Makes a client of the cluster; each thread of the session has its own.
    using EtcdFactory = std::function<std::unique_ptr<Etcd>()>;
    /// Told the name of a stack that waits for its turn when its keys changed.
    using Wake = std::function<void(const std::string& stack)>;

    FleetSession(FleetSettings settings, EtcdFactory etcd, sys::Clock& clock, Wake wake);
    ~FleetSession() override;
    FleetSession(const FleetSession&) = delete;
    FleetSession& operator=(const FleetSession&) = delete;

    /// Starts keeping the lease alive, retrying and watching. Nothing is asked of etcd before.
    void start();
    /// Stops the threads and revokes the lease (its slots are free at once).
    void stop();

    sys::Duration soak() const override { return m_settings.soak; }
    Turn turn(const std::string& stack, const std::string& release) override;
    sys::Result<void> done(const std::string& stack, const std::string& release) override;
    sys::Result<void> halt(const std::string& stack, const std::string& release,
                           const std::string& reason) override;
    sys::Result<void> leave(const std::string& stack) override;

    /// Each with a client of its own: an admin's request never waits for a turn.
    FleetSeen seen() override;
    sys::Result<GroupView> look(const std::optional<std::string>& stack) override;
    sys::Result<Halt> unhalt(const std::string& stack) override;
    sys::Result<SlotHolder> release(const std::string& stack, const std::string& host) override;

    const FleetSettings& settings() const { return m_settings; }

private:
    /// How a turn ended, kept to be written again while etcd cannot be reached.
    struct Ending {
        enum class Kind { Done, Halt, Leave };
        Kind kind = Kind::Leave;
        std::string stack;
        std::string release;
        std::string reason;
    };
    /// Writes `ending`; on failure keeps it (the newest per stack) for the keeper to retry.
    sys::Result<void> end(Ending ending);
    sys::Result<void> write(const Ending& ending);
    /// Retries the endings etcd did not take (of one stack, or of all when stack is empty);
    /// false when one is still pending.
    bool flush(const std::string& stack);

    /// Deletes `key` as it is now and returns it; `absent` when there is none, `changed` when
    /// it was replaced between the read and the deletion. With a client of its own.
    sys::Result<KeyValue> erase(const std::string& key, sys::Error absent, sys::Error changed);
    StackKeys keys(const std::string& stack) const { return {m_settings.group, stack}; }
    RolloutRules rules(const std::string& stack) const;
    /// The lease, granted when there is none (the first turn, or the last one expired).
    sys::Result<std::int64_t> lease();
    sys::Result<StackView> view(const std::string& stack);
    void keep_alive_loop();
    void retry_loop();
    void watch_loop();
    /// Lists the group into what is seen and sets `from` to watch on from it; false when etcd
    /// did not answer.
    bool relist(Etcd& etcd, std::int64_t& from);
    /// Applies a watch's batch to what is seen and advances `from`; returns the stacks whose
    /// keys it changed (this host's own slot key aside).
    std::set<std::string> follow(const WatchBatch& batch, std::int64_t& from);
    /// Pushes a cycle of each of `stacks` that waits for its turn.
    void wake_waiting(const std::set<std::string>& stacks);
    /// Waits for `d` or until stopped; false when stopped.
    bool pause(sys::Duration d);

    FleetSettings m_settings;
    EtcdFactory m_factory;
    sys::Clock& m_clock;
    Wake m_wake;

    /// 0 when there is none. Changed under m_mutex; the keeper reads it without the lock.
    std::atomic<std::int64_t> m_lease = 0;

    std::mutex m_stop_mutex;  // guards m_stopping: the threads' pauses never wait for m_mutex
    std::condition_variable m_stopped;
    bool m_stopping = false;

    std::mutex m_mutex;            // guards everything below
    std::unique_ptr<Etcd> m_etcd;  // the pipeline's calls and the retrier's, one at a time
    std::set<std::string> m_waiting;          // stacks whose last turn was Wait
    std::map<std::string, Ending> m_pending;  // stack -> its turn's end, not written yet
    std::map<std::string, KeyValue> m_seen;   // the group's keys, as the watcher follows them
    std::int64_t m_seen_revision = 0;
    bool m_watching = false;

    std::thread m_keeper;
    std::thread m_retrier;
    std::thread m_watcher;
};

}  // namespace agentd::fleet
