#include "agent/daemon/notifications.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/notify/payload.h"
#include "agent/sources/credential_file.h"
#include "agent/sys/digest.h"
#include "agent/sys/log_context.h"

namespace agentd::daemon {
namespace {

std::optional<notify::Kind> kind_of(deploy::Outcome outcome) {
    switch (outcome) {
        case deploy::Outcome::Succeeded:
            return notify::Kind::Succeeded;
        case deploy::Outcome::RolledBack:
            return notify::Kind::RolledBack;
        case deploy::Outcome::Rejected:
            return notify::Kind::Rejected;
        case deploy::Outcome::Failed:
            return notify::Kind::Failed;
        case deploy::Outcome::Waiting:
            return notify::Kind::Waiting;
        default:
            return std::nullopt;
    }
}

bool same_thresholds(const config::Notification& a, const config::Notification& b) {
    return a.repeat_interval == b.repeat_interval && a.waiting_after == b.waiting_after &&
           a.poll_failing_after == b.poll_failing_after;
}

notify::Thresholds thresholds_of(const config::Notification& n) {
    notify::Thresholds t;
    t.repeat_interval = n.repeat_interval;
    t.waiting_after = n.waiting_after;
    t.poll_failing_after = n.poll_failing_after;
    return t;
}

notify::EventFilter filter_of(const config::Notification& n) {
    return n.events ? notify::EventFilter(*n.events) : notify::EventFilter();
}

const NotificationTarget* find_target(const std::vector<NotificationTarget>& targets,
                                      const std::string& key) {
    for (const auto& t : targets) {
        if (t.key == key) {
            return &t;
        }
    }
    return nullptr;
}

}  // namespace

std::string target_key(const std::string& url) {
    return sys::hex_encode(sys::sha256(url)).substr(0, 16);
}

sys::Result<std::vector<NotificationTarget>> resolve_targets(
    const std::vector<config::Notification>& notifications) {
    std::vector<NotificationTarget> out;
    for (const auto& n : notifications) {
        NotificationTarget target;
        target.config = n;
        if (!n.url_file.empty()) {
            auto url = sources::read_credential_file(
                n.url_file, fmt::format("notifications ({}): url_file", n.label));
            if (!url) {
                return url.error();
            }
            if (url->find_first_of(" \t\r\n") != std::string::npos ||
                !(url->starts_with("https://") || url->starts_with("http://"))) {
                return sys::Error::invalid(fmt::format(
                    "notifications ({}): url_file {}: expected one http:// or https:// URL "
                    "(content not shown)",
                    n.label, n.url_file.string()));
            }
            target.url = *url;
        } else {
            target.url = n.url;
        }
        target.key = target_key(target.url);
        out.push_back(std::move(target));
    }
    return out;
}

NotificationCenter::NotificationCenter(std::unique_ptr<state::Outbox> outbox, sys::Clock& clock)
    : m_outbox(std::move(outbox)), m_clock(clock) {}

void NotificationCenter::set_targets(std::vector<NotificationTarget> targets) {
    std::lock_guard lock(m_mutex);
    std::vector<Receiver> next;
    for (auto& target : targets) {
        auto kept = std::find_if(m_receivers.begin(), m_receivers.end(), [&](const Receiver& r) {
            return r.target.key == target.key && same_thresholds(r.target.config, target.config);
        });
        if (kept != m_receivers.end()) {
            notify::EventFilter filter = filter_of(target.config);
            next.push_back(
                Receiver{std::move(target), std::move(filter), kept->alerts, kept->saved});
        } else {
            next.push_back(load(std::move(target)));
        }
    }
    m_receivers = std::move(next);
}

NotificationCenter::Receiver NotificationCenter::load(NotificationTarget target) {
    Receiver r{target, filter_of(target.config), notify::Alerts(thresholds_of(target.config)), ""};
    try {
        if (const auto saved = m_outbox->memory(target.key)) {
            if (r.alerts.restore(*saved)) {
                r.saved = *saved;
            } else {
                spdlog::warn("notifications ({}): what state.db remembers of its alerts is "
                             "malformed; starting afresh",
                             target.config.label);
            }
        }
    } catch (const state::StoreError& e) {
        spdlog::error("notifications ({}): cannot read its alert memory: {}", target.config.label,
                      e.error().message);
    }
    return r;
}

void NotificationCenter::save(Receiver& receiver) {
    std::string memory = receiver.alerts.save();
    if (memory == receiver.saved) {
        return;
    }
    try {
        m_outbox->remember(receiver.target.key, memory, m_clock.now());
        receiver.saved = std::move(memory);
    } catch (const state::StoreError& e) {
        spdlog::error("notifications ({}): cannot save its alert memory: {}",
                      receiver.target.config.label, e.error().message);
    }
}

std::vector<NotificationTarget> NotificationCenter::targets() const {
    std::lock_guard lock(m_mutex);
    std::vector<NotificationTarget> out;
    for (const auto& r : m_receivers) {
        out.push_back(r.target);
    }
    return out;
}

void NotificationCenter::on_enqueued(std::function<void()> wake) {
    std::lock_guard lock(m_mutex);
    m_wake = std::move(wake);
}

void NotificationCenter::started(const std::string& detail) {
    notify::Notification n;
    n.kind = notify::Kind::Started;
    n.reason = detail;
    n.at = m_clock.now();
    dispatch([&](notify::Alerts& alerts) { return alerts.deployment(n); });
}

void NotificationCenter::cycle_ended(const std::string& stack, const deploy::CycleResult& result,
                                     state::Store& store) {
    try {
        const sys::TimePoint now = m_clock.now();
        if (result.outcome == deploy::Outcome::PollError) {
            dispatch([&](notify::Alerts& a) { return a.poll_failed(stack, result.message, now); });
            return;
        }
        if (result.outcome == deploy::Outcome::Interrupted) {
            return;
        }
        // Anything else means the poll itself worked.
        dispatch([&](notify::Alerts& a) { return a.poll_ok(stack, now); });
        if (result.drift) {
            // The poll compared the containers with the current release.
            notify::Notification n;
            n.stack = stack;
            n.kind = notify::Kind::Drifted;
            n.at = now;
            n.reason = *result.drift;
            if (const auto current = store.current(stack)) {
                n.deployment = current->id;
                n.revision = current->release.revision;
                n.tag = current->release.tag;
                n.images = current->release.images;
            }
            dispatch([&](notify::Alerts& a) { return a.drift(n, !result.drift->empty()); });
        }
        const auto kind = kind_of(result.outcome);
        if (!kind) {
            return;
        }
        notify::Notification n;
        n.stack = stack;
        n.kind = *kind;
        n.at = now;
        n.deployment = result.deployment;
        n.reason = result.message;
        if (result.deployment) {
            if (const auto d = store.deployment(*result.deployment, false)) {
                n.revision = d->release.revision;
                n.tag = d->release.tag;
                n.images = d->release.images;
                if (!d->reason.empty()) {
                    n.reason = d->reason;
                }
                if (*kind == notify::Kind::Waiting && (d->reason == model::k_waits_for_window ||
                                                       d->reason == model::k_waits_for_min_age)) {
                    return;  // held back as configured: nothing is wrong
                }
                if (*kind == notify::Kind::Waiting) {
                    n.since = d->started_at;
                    if (model::waits_for_approval(*d)) {
                        n.kind = notify::Kind::Approval;
                        n.reason = result.message;  // names the command that approves it
                    }
                }
            }
        }
        if (*kind == notify::Kind::Succeeded) {
            n.reason.clear();
        }
        dispatch([&](notify::Alerts& a) { return a.deployment(n); });
    } catch (const std::exception& e) {
        spdlog::error("stack {}: notifications: {}", stack, e.what());
    }
}

void NotificationCenter::dispatch(const Decide& decide) {
    std::function<void()> wake;
    {
        std::lock_guard lock(m_mutex);
        bool added = false;
        for (auto& receiver : m_receivers) {
            for (const auto& n : decide(receiver.alerts)) {
                if (!receiver.filter.wants(n)) {
                    continue;
                }
                const notify::Message m = notify::render(receiver.target.config.format, n);
                state::OutboxMessage row{receiver.target.key, m.content_type, m.headers, m.body};
                try {
                    const auto queued = m_outbox->enqueue(row, n.at);
                    added = true;
                    spdlog::debug("notification {} ({}): {} {}", queued.id,
                                  receiver.target.config.label, notify::to_string(n.kind), n.stack);
                    if (queued.dropped > 0) {
                        spdlog::warn(
                            "notifications: the outbox is full, {} undelivered "
                            "notification(s) dropped, the oldest first",
                            queued.dropped);
                    }
                } catch (const state::StoreError& e) {
                    spdlog::error("notification ({}) not queued: {}", receiver.target.config.label,
                                  e.error().message);
                }
            }
            save(receiver);
        }
        if (added) {
            wake = m_wake;
        }
    }
    if (wake) {
        wake();
    }
}

NotificationSender::NotificationSender(state::Outbox& outbox, sys::HttpClient& http,
                                       sys::Clock& clock, notify::RetryPolicy policy)
    : m_outbox(outbox), m_http(http), m_clock(clock), m_policy(policy) {}

int NotificationSender::deliver_due(const std::vector<NotificationTarget>& targets) {
    const auto due = m_outbox.due(m_clock.now(), k_batch);
    // Receivers that did not answer in this batch, and why: their other rows wait for the
    // next attempt rather than each costing another timeout.
    std::map<std::string, std::string> unanswered;
    for (const auto& item : due) {
        const NotificationTarget* target = find_target(targets, item.message.target);
        if (target == nullptr) {
            spdlog::warn("notification {}: its receiver is no longer configured, dropped", item.id);
            m_outbox.failed(item.id, "receiver no longer configured", std::nullopt);
            continue;
        }
        const std::string& label = target->config.label;
        if (const auto it = unanswered.find(target->key); it != unanswered.end()) {
            const int attempts = item.attempts + 1;
            const sys::TimePoint now = m_clock.now();
            const auto next = notify::next_attempt(m_policy, attempts, item.created_at, now);
            m_outbox.failed(item.id, it->second, next);
            spdlog::debug("notification {} ({}) not tried: its receiver did not answer", item.id,
                          label);
            continue;
        }
        sys::HttpRequest request;
        request.method = "POST";
        request.url = target->url;
        request.headers = item.message.headers;
        request.headers.emplace_back("Content-Type", item.message.content_type);
        request.headers.emplace_back("User-Agent", "agentd");
        request.body = item.message.payload;
        request.timeout = k_timeout;
        request.max_body = 64 * 1024;
        const auto response = m_http.send(request);
        const sys::TimePoint now = m_clock.now();
        std::string error;
        std::optional<sys::Duration> retry_after;
        notify::Delivery outcome = notify::Delivery::Retry;
        if (!response) {
            error = notify::redact_url(response.error().message, target->url);
            unanswered[target->key] = error;
        } else {
            outcome = notify::classify(response->status);
            error = fmt::format("HTTP {}", response->status);
            if (const auto after = response->header("retry-after")) {
                try {
                    retry_after = std::chrono::seconds(std::stoi(*after));
                } catch (const std::exception&) {
                    // An HTTP date or garbage: the backoff alone decides.
                }
            }
        }
        if (outcome == notify::Delivery::Delivered) {
            m_outbox.delivered(item.id, now);
            spdlog::info("notification {} ({}) delivered", item.id, label);
            continue;
        }
        const int attempts = item.attempts + 1;
        std::optional<sys::TimePoint> next;
        if (outcome == notify::Delivery::Retry) {
            next = notify::next_attempt(m_policy, attempts, item.created_at, now, retry_after);
        }
        m_outbox.failed(item.id, error, next);
        if (next) {
            spdlog::warn(
                "notification {} ({}) failed: {}, retry in {}", item.id, label, error,
                sys::format_duration(std::chrono::duration_cast<sys::Duration>(*next - now)));
        } else {
            spdlog::error("notification {} ({}) failed: {}, given up after {} attempt(s)", item.id,
                          label, error, attempts);
        }
    }
    return static_cast<int>(due.size());
}

NotificationThread::NotificationThread(NotificationCenter& center,
                                       std::unique_ptr<state::Outbox> outbox,
                                       std::unique_ptr<sys::HttpClient> http, sys::Clock& clock)
    : m_center(center),
      m_outbox(std::move(outbox)),
      m_http(std::move(http)),
      m_clock(clock),
      m_thread([this] { run(); }) {}

NotificationThread::~NotificationThread() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

void NotificationThread::wake() {
    {
        std::lock_guard lock(m_mutex);
        m_woken = true;
    }
    m_changed.notify_all();
}

void NotificationThread::run() {
    NotificationSender sender(*m_outbox, *m_http, m_clock);
    // Checked at least this often, so a row due in the past (a clock set back) is not stuck.
    constexpr sys::Duration k_longest_sleep = std::chrono::minutes(1);
    try {
        if (const int pending = m_outbox->retry_now(m_clock.now()); pending > 0) {
            spdlog::info("notifications: {} waiting in the outbox, trying them now", pending);
        }
    } catch (const std::exception& e) {
        spdlog::error("notifications: {}", e.what());
    }
    for (;;) {
        sys::Duration sleep = k_longest_sleep;
        try {
            // A full batch may have more behind it: go on at once.
            while (sender.deliver_due(m_center.targets()) == NotificationSender::k_batch) {
                std::lock_guard lock(m_mutex);
                if (m_stop) {
                    return;
                }
            }
            if (const auto next = m_outbox->next_due()) {
                sleep = std::clamp(std::chrono::duration_cast<sys::Duration>(*next - m_clock.now()),
                                   sys::Duration(std::chrono::milliseconds(10)), k_longest_sleep);
            }
        } catch (const std::exception& e) {
            spdlog::error("notifications: {}", e.what());
        }
        std::unique_lock lock(m_mutex);
        m_changed.wait_for(lock, sleep, [this] { return m_stop || m_woken; });
        if (m_stop) {
            return;
        }
        m_woken = false;
    }
}

}  // namespace agentd::daemon
