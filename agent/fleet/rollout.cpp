#include "agent/fleet/rollout.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/config/fleet.h"

namespace agentd::fleet {

using nlohmann::json;

namespace {

std::optional<json> object_of(std::string_view value) {
    auto doc = json::parse(value, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return std::nullopt;
    return doc;
}

std::string string_in(const json& doc, const char* name) {
    const auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string host_list(const std::vector<SlotHolder>& holders) {
    std::string list;
    for (const auto& holder : holders) list += (list.empty() ? "" : ", ") + holder.host;
    return list;
}

}  // namespace

std::string group_root(std::string_view group) {
    return fmt::format("/agentd/{}/", group);
}

std::string StackKeys::root() const {
    return group_root(group) + stack + "/";
}

std::string StackKeys::slots() const {
    return root() + "slots/";
}

std::string StackKeys::slot(std::string_view host) const {
    return slots() + std::string(host);
}

std::string StackKeys::halt() const {
    return root() + "halt";
}

std::string StackKeys::done(std::string_view release) const {
    return root() + "done/" + std::string(release) + "/";
}

std::string StackKeys::done(std::string_view release, std::string_view host) const {
    return done(release) + std::string(host);
}

StackView read_stack_view(const std::vector<KeyValue>& kvs, const StackKeys& keys) {
    StackView view;
    const auto slots = keys.slots();
    const auto done = keys.root() + "done/";
    for (const auto& kv : kvs) {
        if (kv.key.starts_with(slots)) {
            const auto host = kv.key.substr(slots.size());
            const auto doc = object_of(kv.value);
            if (!config::is_fleet_name(host) || !doc || string_in(*doc, "host") != host) {
                view.malformed.push_back(kv.key);
                continue;
            }
            view.queue.push_back({host, string_in(*doc, "release"), string_in(*doc, "since"),
                                  kv.create_revision, kv.lease});
        } else if (kv.key == keys.halt()) {
            const auto doc = object_of(kv.value);
            if (!doc || string_in(*doc, "release").empty()) {
                view.malformed.push_back(kv.key);
                continue;
            }
            view.halt = Halt{string_in(*doc, "release"), string_in(*doc, "host"),
                             string_in(*doc, "reason"), string_in(*doc, "time"), kv.mod_revision};
        } else if (kv.key.starts_with(done)) {
            const auto rest = std::string_view(kv.key).substr(done.size());
            const auto slash = rest.find('/');
            if (slash == std::string_view::npos || !config::is_fleet_name(rest.substr(0, slash)) ||
                !config::is_fleet_name(rest.substr(slash + 1))) {
                view.malformed.push_back(kv.key);
                continue;
            }
            const std::string release(rest.substr(0, slash));
            const std::string host(rest.substr(slash + 1));
            view.done[release].push_back(host);
            view.done_at[host][release] = kv.mod_revision;
        }
    }
    std::sort(view.queue.begin(), view.queue.end(), [](const SlotHolder& a, const SlotHolder& b) {
        return a.create_revision < b.create_revision;
    });
    for (auto& [release, hosts] : view.done) std::sort(hosts.begin(), hosts.end());
    return view;
}

std::map<std::string, StackView> read_group_view(const std::vector<KeyValue>& kvs,
                                                 const std::string& group) {
    const auto root = group_root(group);
    std::map<std::string, std::vector<KeyValue>> by_stack;
    for (const auto& kv : kvs) {
        if (!kv.key.starts_with(root))
            continue;
        const auto rest = std::string_view(kv.key).substr(root.size());
        const auto stack = rest.substr(0, rest.find('/'));
        by_stack[config::is_fleet_name(stack) ? std::string(stack) : std::string()].push_back(kv);
    }
    std::map<std::string, StackView> views;
    for (const auto& [stack, stack_kvs] : by_stack) {
        if (stack.empty()) {
            for (const auto& kv : stack_kvs) views[stack].malformed.push_back(kv.key);
            continue;
        }
        views[stack] = read_stack_view(stack_kvs, StackKeys{group, stack});
    }
    return views;
}

std::string slot_value(std::string_view host, std::string_view release, std::string_view since) {
    return json{{"host", host}, {"release", release}, {"since", since}}.dump();
}

std::string halt_value(const Halt& halt) {
    return json{{"release", halt.release},
                {"host", halt.host},
                {"reason", halt.reason},
                {"time", halt.time}}
        .dump();
}

std::string done_value(std::string_view host, std::string_view time) {
    return json{{"host", host}, {"time", time}}.dump();
}

std::vector<SlotHolder> slot_holders(const StackView& view, int max_updating) {
    const auto count = std::min<std::size_t>(view.queue.size(),
                                             static_cast<std::size_t>(std::max(max_updating, 0)));
    return {view.queue.begin(), view.queue.begin() + static_cast<std::ptrdiff_t>(count)};
}

std::vector<std::string> stale_done_marks(const StackView& view, std::string_view host,
                                          std::string_view release) {
    const auto mine = view.done_at.find(std::string(host));
    if (mine == view.done_at.end())
        return {};
    std::vector<std::pair<std::int64_t, std::string>> older;  // (revision, release)
    for (const auto& [done_release, revision] : mine->second) {
        if (done_release != release)
            older.emplace_back(revision, done_release);
    }
    std::sort(older.begin(), older.end(), std::greater<>());
    std::vector<std::string> stale;
    for (std::size_t i = k_done_marks_kept - 1; i < older.size(); ++i)
        stale.push_back(older[i].second);
    return stale;
}

Turn rollout_turn(const StackView& view, std::string_view host, std::string_view release,
                  const RolloutRules& rules) {
    const auto position =
        std::find_if(view.queue.begin(), view.queue.end(),
                     [&](const SlotHolder& holder) { return holder.host == host; });
    const bool queued = position != view.queue.end();
    const auto index = queued ? static_cast<int>(position - view.queue.begin()) : -1;
    const auto go = [&] {
        const auto holders = slot_holders(view, rules.max_updating);
        return Turn{Turn::Kind::Go,
                    fmt::format("holds a fleet slot: {} of {} updating ({})", holders.size(),
                                rules.max_updating, host_list(holders))};
    };
    // A host that holds a slot already goes on (its deployment started before any halt).
    if (queued && index < rules.max_updating && position->release == release)
        return go();
    if (view.halt && view.halt->release == release) {
        return {Turn::Kind::Wait,
                fmt::format("fleet halted: release {} failed on {}{}{}", release, view.halt->host,
                            view.halt->reason.empty() ? "" : ": ", view.halt->reason)};
    }
    if (!rules.canary && rules.after_done > 0) {
        const auto it = view.done.find(std::string(release));
        const auto done = it == view.done.end() ? 0 : static_cast<int>(it->second.size());
        if (done < rules.after_done) {
            return {
                Turn::Kind::Wait,
                fmt::format("waiting for the canary wave: {} of {} hosts done with this release",
                            done, rules.after_done)};
        }
    }
    if (!queued || position->release != release)
        return {Turn::Kind::Enqueue, {}};
    if (index < rules.max_updating)
        return go();
    return {Turn::Kind::Wait,
            fmt::format("waiting for a fleet slot: {} of {} updating ({}); {} ahead in the queue",
                        rules.max_updating, rules.max_updating,
                        host_list(slot_holders(view, rules.max_updating)),
                        index - rules.max_updating + 1)};
}

}  // namespace agentd::fleet
