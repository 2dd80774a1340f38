#include "agent/model/deployment.h"

#include <array>
#include <utility>

#include "agent/sys/files.h"

namespace agentd::model {
namespace {

constexpr std::array<std::pair<Status, const char*>, 7> k_statuses{{
    {Status::Waiting, "waiting"},
    {Status::InProgress, "in_progress"},
    {Status::Succeeded, "succeeded"},
    {Status::Superseded, "superseded"},
    {Status::RolledBack, "rolled_back"},
    {Status::Failed, "failed"},
    {Status::Rejected, "rejected"},
}};

constexpr std::array<std::pair<Trigger, const char*>, 6> k_triggers{{
    {Trigger::Poll, "poll"},
    {Trigger::Webhook, "webhook"},
    {Trigger::Manual, "manual"},
    {Trigger::Rollback, "rollback"},
    {Trigger::Retry, "retry"},
    {Trigger::Drift, "drift"},
}};

template <class E, std::size_t N>
std::string name_of(const std::array<std::pair<E, const char*>, N>& table, E value) {
    for (const auto& [e, name] : table) {
        if (e == value) {
            return name;
        }
    }
    return "unknown";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, const char*>, N>& table,
                          const std::string& name) {
    for (const auto& [e, n] : table) {
        if (name == n) {
            return e;
        }
    }
    return std::nullopt;
}

}  // namespace

std::string to_string(Status s) {
    return name_of(k_statuses, s);
}
std::string to_string(Trigger t) {
    return name_of(k_triggers, t);
}
std::optional<Status> parse_status(const std::string& s) {
    return value_of(k_statuses, s);
}
std::optional<Trigger> parse_trigger(const std::string& s) {
    return value_of(k_triggers, s);
}

bool is_final(Status s) {
    return s != Status::Waiting && s != Status::InProgress;
}

bool waits_for_approval(const Deployment& d) {
    return d.status == Status::Waiting && d.reason == k_waits_for_approval;
}

bool passed_gate(const Deployment& d) {
    // Only a promotion makes a deployment succeeded, and it enters the phase "promote" first.
    return d.status == Status::Succeeded ||
           (d.status == Status::Superseded && d.phase == "promote");
}

std::string status_text(const Deployment& d) {
    if (d.status == Status::Superseded && !passed_gate(d)) {
        return "superseded before it was deployed";
    }
    return to_string(d.status);
}

std::string Release::key() const {
    std::string text = revision + "\n";
    for (const auto& [service, image] : images) {
        text += service + "=" + image + "\n";
    }
    return sys::sha256_hex(text).substr(0, 16);
}

}  // namespace agentd::model
