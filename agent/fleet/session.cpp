#include "agent/fleet/session.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace agentd::fleet {

using sys::Error;
using sys::Result;

namespace {

constexpr auto k_watch_backoff_min = std::chrono::seconds(1);
constexpr auto k_watch_backoff_max = std::chrono::seconds(30);

// The stack a key under "/agentd/<group>/" belongs to: the path segment after the group.
std::string stack_of(const std::string& key, const std::string& group_prefix) {
    if (!key.starts_with(group_prefix))
        return {};
    const auto rest = key.substr(group_prefix.size());
    return rest.substr(0, rest.find('/'));
}

}  // namespace

FleetSession::FleetSession(FleetSettings settings, EtcdFactory etcd, sys::Clock& clock, Wake wake)
    : m_settings(std::move(settings)),
      m_factory(std::move(etcd)),
      m_clock(clock),
      m_wake(std::move(wake)),
      m_etcd(m_factory()) {}

FleetSession::~FleetSession() {
    stop();
}

void FleetSession::start() {
    const std::lock_guard lock(m_stop_mutex);
    if (m_keeper.joinable() || m_stopping)
        return;
    m_keeper = std::thread([this] { keep_alive_loop(); });
    m_retrier = std::thread([this] { retry_loop(); });
    m_watcher = std::thread([this] { watch_loop(); });
}

void FleetSession::stop() {
    {
        const std::lock_guard lock(m_stop_mutex);
        if (m_stopping)
            return;
        m_stopping = true;
    }
    m_stopped.notify_all();
    if (m_keeper.joinable())
        m_keeper.join();
    if (m_retrier.joinable())
        m_retrier.join();
    if (m_watcher.joinable())
        m_watcher.join();
    const std::lock_guard lock(m_mutex);
    if (!flush({})) {
        spdlog::warn("fleet: etcd did not take the end of {} turn(s) before agentd stopped",
                     m_pending.size());
    }
    if (const std::int64_t lease = m_lease; lease != 0) {
        // Frees this host's slots now rather than after the lease's TTL.
        if (auto revoked = m_etcd->revoke_lease(lease); !revoked) {
            spdlog::warn(
                "fleet: could not end this host's etcd lease (its slots free within {}s): {}",
                std::chrono::duration_cast<std::chrono::seconds>(m_settings.lease_ttl).count(),
                revoked.error().message);
        }
        m_lease = 0;
    }
}

bool FleetSession::pause(sys::Duration d) {
    std::unique_lock lock(m_stop_mutex);
    return !m_stopped.wait_for(lock, d, [this] { return m_stopping; });
}

RolloutRules FleetSession::rules(const std::string& stack) const {
    const auto it = m_settings.rules.find(stack);
    auto rules = it == m_settings.rules.end() ? RolloutRules{} : it->second;
    rules.max_updating = m_settings.max_updating;
    return rules;
}

Result<std::int64_t> FleetSession::lease() {
    if (const std::int64_t lease = m_lease; lease != 0)
        return lease;
    auto granted = m_etcd->grant_lease(m_settings.lease_ttl);
    if (!granted)
        return granted.error();
    m_lease = *granted;
    spdlog::info("fleet: host {} joined group {} (etcd lease {:x})", m_settings.host,
                 m_settings.group, *granted);
    return *granted;
}

Result<StackView> FleetSession::view(const std::string& stack) {
    auto listing = m_etcd->list(keys(stack).root());
    if (!listing)
        return listing.error();
    auto view = read_stack_view(listing->kvs, keys(stack));
    for (const auto& key : view.malformed) {
        spdlog::warn("stack {}: fleet: ignoring etcd key {}: its value is not agentd's", stack,
                     key);
    }
    return view;
}

Turn FleetSession::turn(const std::string& stack, const std::string& release) {
    const auto stack_keys = keys(stack);
    const auto stack_rules = rules(stack);
    const std::lock_guard lock(m_mutex);
    const auto decide = [&]() -> Turn {
        for (int attempt = 0; attempt < 2; ++attempt) {
            auto now = view(stack);
            if (!now)
                return {Turn::Kind::Wait, now.error().message};
            auto turn = rollout_turn(*now, m_settings.host, release, stack_rules);
            const auto mine =
                std::find_if(now->queue.begin(), now->queue.end(),
                             [&](const SlotHolder& h) { return h.host == m_settings.host; });
            // Queued under a lease that is not this session's (an earlier run of agentd): bind the
            // key to ours, keeping its place, or it goes when that lease runs out.
            const std::int64_t held = m_lease;
            const bool stale = mine != now->queue.end() && (held == 0 || mine->lease != held);
            if (turn.kind != Turn::Kind::Enqueue && !stale)
                return turn;
            if (turn.kind == Turn::Kind::Wait)
                return turn;  // halted or waiting for the wave
            auto lease_id = lease();
            if (!lease_id)
                return {Turn::Kind::Wait, lease_id.error().message};
            const auto since = sys::format_rfc3339_ms(m_clock.now());
            auto put =
                m_etcd->txn({{},
                             {Write::put(stack_keys.slot(m_settings.host),
                                         slot_value(m_settings.host, release, since), *lease_id)},
                             {}});
            if (!put && put.error().is_not_found()) {
                m_lease = 0;  // the lease expired meanwhile: a new one, once
                continue;
            }
            if (!put)
                return {Turn::Kind::Wait, put.error().message};
        }
        auto now = view(stack);
        if (!now)
            return {Turn::Kind::Wait, now.error().message};
        auto turn = rollout_turn(*now, m_settings.host, release, stack_rules);
        if (turn.kind == Turn::Kind::Enqueue)
            turn = {Turn::Kind::Wait, "this host's place in the queue was lost"};
        return turn;
    };
    // The end of this stack's last turn first: written after a new turn began, it would delete
    // the new turn's key.
    auto turn = flush(stack)
                    ? decide()
                    : Turn{Turn::Kind::Wait, "etcd has not taken the end of the last turn yet"};
    if (turn.kind == Turn::Kind::Go) {
        m_waiting.erase(stack);
    } else {
        m_waiting.insert(stack);
    }
    return turn;
}

Result<void> FleetSession::done(const std::string& stack, const std::string& release) {
    return end({Ending::Kind::Done, stack, release, {}});
}

Result<void> FleetSession::halt(const std::string& stack, const std::string& release,
                                const std::string& reason) {
    return end({Ending::Kind::Halt, stack, release, reason});
}

Result<void> FleetSession::leave(const std::string& stack) {
    return end({Ending::Kind::Leave, stack, {}, {}});
}

Result<void> FleetSession::end(Ending ending) {
    const std::lock_guard lock(m_mutex);
    m_waiting.erase(ending.stack);
    m_pending.erase(ending.stack);  // a newer end replaces one not written yet
    auto written = write(ending);
    if (!written)
        m_pending[ending.stack] = std::move(ending);
    return written;
}

Result<void> FleetSession::write(const Ending& ending) {
    const auto stack_keys = keys(ending.stack);
    const auto slot = stack_keys.slot(m_settings.host);
    const auto now = sys::format_rfc3339_ms(m_clock.now());
    Txn txn;
    switch (ending.kind) {
        case Ending::Kind::Done: {
            auto view_now = view(ending.stack);
            if (!view_now)
                return view_now.error();
            txn.then = {Write::erase(slot),
                        Write::put(stack_keys.done(ending.release, m_settings.host),
                                   done_value(m_settings.host, now))};
            // This host's marks of older releases go, but the last one's (k_done_marks_kept).
            for (const auto& stale : stale_done_marks(*view_now, m_settings.host, ending.release))
                txn.then.push_back(Write::erase(stack_keys.done(stale, m_settings.host)));
            // A release that passed here supersedes a halted one: the halt has done its work.
            if (view_now->halt && view_now->halt->release != ending.release) {
                txn.then.push_back(Write::erase(stack_keys.halt()));
            }
            break;
        }
        case Ending::Kind::Halt: {
            // The first failure's halt stands: a second host failing the release changes nothing.
            const Halt halt{ending.release, m_settings.host, ending.reason, now};
            txn.when = {{stack_keys.halt(), Compare::Op::Equal, 0}};
            txn.then = {Write::put(stack_keys.halt(), halt_value(halt)), Write::erase(slot)};
            txn.otherwise = {Write::erase(slot)};
            break;
        }
        case Ending::Kind::Leave:
            txn.then = {Write::erase(slot)};
            break;
    }
    auto written = m_etcd->txn(txn);
    if (!written)
        return written.error();
    return {};
}

bool FleetSession::flush(const std::string& stack) {
    for (auto it = m_pending.begin(); it != m_pending.end();) {
        if (!stack.empty() && it->first != stack) {
            ++it;
            continue;
        }
        if (!write(it->second))
            return false;
        it = m_pending.erase(it);
    }
    return true;
}

Result<GroupView> FleetSession::look(const std::optional<std::string>& stack) {
    auto listing = m_factory()->list(stack ? keys(*stack).root() : group_root(m_settings.group));
    if (!listing)
        return listing.error();
    GroupView group{m_settings.group, m_settings.host, m_settings.max_updating, listing->revision,
                    read_group_view(listing->kvs, m_settings.group)};
    if (stack)
        group.stacks.try_emplace(*stack);
    return group;
}

Result<KeyValue> FleetSession::erase(const std::string& key, Error absent, Error changed) {
    auto etcd = m_factory();
    auto listing = etcd->list(key);
    if (!listing)
        return listing.error();
    // The key exactly: a listing of ".../slots/h1" also finds ".../slots/h10".
    const auto kv = std::find_if(listing->kvs.begin(), listing->kvs.end(),
                                 [&](const KeyValue& found) { return found.key == key; });
    if (kv == listing->kvs.end())
        return absent;
    // Only the key as read: one deleted and created again since has another create_revision.
    auto erased = etcd->txn(
        {{{kv->key, Compare::Op::Equal, kv->create_revision}}, {Write::erase(kv->key)}, {}});
    if (!erased)
        return erased.error();
    if (!erased->succeeded)
        return changed;
    return *kv;
}

Result<Halt> FleetSession::unhalt(const std::string& stack) {
    auto erased = erase(keys(stack).halt(),
                        Error::conflict(fmt::format("fleet: stack {} is not halted in group {}",
                                                    stack, m_settings.group)),
                        Error::conflict(fmt::format(
                            "fleet: the halt of stack {} changed meanwhile; look again", stack)));
    if (!erased)
        return erased.error();
    spdlog::info("fleet: stack {}: halt cleared by an admin", stack);
    const auto view = read_stack_view({*erased}, keys(stack));
    // A value agentd did not write names no release: say what was cleared anyway.
    return view.halt.value_or(Halt{{}, {}, "not written by agentd", {}, erased->mod_revision});
}

Result<SlotHolder> FleetSession::release(const std::string& stack, const std::string& host) {
    auto erased =
        erase(keys(stack).slot(host),
              Error::not_found(fmt::format(
                  "fleet: host {} holds no slot and is not queued for stack {} in group {}", host,
                  stack, m_settings.group)),
              Error::conflict(
                  fmt::format("fleet: host {} left the queue of stack {} meanwhile", host, stack)));
    if (!erased)
        return erased.error();
    spdlog::info("fleet: stack {}: host {}'s place in the queue freed by an admin", stack, host);
    const auto view = read_stack_view({*erased}, keys(stack));
    if (!view.queue.empty())
        return view.queue.front();
    return SlotHolder{host, {}, {}, erased->create_revision, erased->lease};
}

void FleetSession::keep_alive_loop() {
    auto etcd = m_factory();
    bool warned = false;
    while (pause(m_settings.lease_ttl / 3)) {
        std::int64_t lease = m_lease;
        if (lease == 0)
            continue;
        auto left = etcd->keep_alive(lease);
        if (left) {
            if (warned)
                spdlog::info("fleet: etcd answers again; lease kept");
            warned = false;
            continue;
        }
        if (left.error().is_not_found()) {
            // etcd let it expire (it was unreachable for longer than the TTL): this host's places
            // in the queues are gone; the next turn joins again.
            spdlog::warn("fleet: this host's etcd lease expired; its rollout slots are released");
            m_lease.compare_exchange_strong(lease, 0);
        } else if (!warned) {
            spdlog::warn("fleet: cannot keep the etcd lease alive: {}", left.error().message);
            warned = true;
        }
    }
}

void FleetSession::retry_loop() {
    while (pause(m_settings.lease_ttl / 3)) {
        const std::lock_guard lock(m_mutex);
        (void)flush({});
    }
}

FleetSeen FleetSession::seen() {
    const std::lock_guard lock(m_mutex);
    std::vector<KeyValue> kvs;
    kvs.reserve(m_seen.size());
    for (const auto& [key, kv] : m_seen) kvs.push_back(kv);
    return {GroupView{m_settings.group, m_settings.host, m_settings.max_updating, m_seen_revision,
                      read_group_view(kvs, m_settings.group)},
            m_watching, m_lease != 0, m_waiting};
}

void FleetSession::wake_waiting(const std::set<std::string>& stacks) {
    std::vector<std::string> woken;
    {
        const std::lock_guard lock(m_mutex);
        std::set_intersection(stacks.begin(), stacks.end(), m_waiting.begin(), m_waiting.end(),
                              std::back_inserter(woken));
    }
    for (const auto& stack : woken) m_wake(stack);
}

bool FleetSession::relist(Etcd& etcd, std::int64_t& from) {
    auto listing = etcd.list(group_root(m_settings.group));
    std::set<std::string> waiting;
    {
        const std::lock_guard lock(m_mutex);
        m_watching = listing.ok();
        if (!listing)
            return false;
        m_seen.clear();
        for (auto& kv : listing->kvs) m_seen[kv.key] = std::move(kv);
        m_seen_revision = listing->revision;
        waiting = m_waiting;
    }
    from = listing->revision + 1;
    // A change may have been missed while not watching: every waiting stack looks again.
    wake_waiting(waiting);
    return true;
}

std::set<std::string> FleetSession::follow(const WatchBatch& batch, std::int64_t& from) {
    const auto prefix = group_root(m_settings.group);
    std::set<std::string> touched;
    const std::lock_guard lock(m_mutex);
    m_watching = true;
    for (const auto& event : batch.events) {
        if (event.kind == WatchEvent::Kind::Put) {
            m_seen[event.kv.key] = event.kv;
        } else {
            m_seen.erase(event.kv.key);
        }
        const auto stack = stack_of(event.kv.key, prefix);
        // This host's own key moving is no news to it.
        if (event.kv.key != keys(stack).slot(m_settings.host))
            touched.insert(stack);
        from = std::max(from, event.kv.mod_revision + 1);
    }
    from = std::max(from, batch.revision + 1);
    m_seen_revision = std::max(m_seen_revision, batch.revision);
    return touched;
}

void FleetSession::watch_loop() {
    auto etcd = m_factory();
    std::int64_t from = 0;  // 0: list the group first, then watch from the listing on
    sys::Duration backoff = k_watch_backoff_min;
    for (;;) {
        if (from != 0 || relist(*etcd, from)) {
            const auto ended = etcd->watch(
                group_root(m_settings.group), from,
                [&](const WatchBatch& batch) {
                    backoff = k_watch_backoff_min;
                    if (auto touched = follow(batch, from); !touched.empty())
                        wake_waiting(touched);
                    return true;
                },
                [this] {
                    const std::lock_guard lock(m_stop_mutex);
                    return m_stopping;
                });
            {
                const std::lock_guard lock(m_mutex);
                m_watching = false;
            }
            if (!ended && ended.error().kind == Error::Kind::Conflict) {
                from = 0;  // history compacted: list again
            } else if (!ended) {
                spdlog::debug("fleet: etcd watch: {}", ended.error().message);
            }
        }
        if (!pause(backoff))
            return;
        backoff = std::min<sys::Duration>(backoff * 2, k_watch_backoff_max);
    }
}

}  // namespace agentd::fleet
