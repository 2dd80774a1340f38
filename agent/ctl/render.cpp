#include "agent/ctl/render.h"

#include <algorithm>

#include <fmt/format.h>

#include "agent/ctl/table.h"

namespace agentd::ctl {
namespace {

using nlohmann::json;

constexpr std::size_t k_reason_width = 60;
constexpr std::size_t k_candidate_width = 160;

std::string text(const json& j, const char* key, const std::string& fallback = "") {
    if (j.is_object() && j.contains(key) && j[key].is_string()) {
        return j[key].get<std::string>();
    }
    return fallback;
}

std::string took(const json& d) {
    sys::TimePoint start;
    sys::TimePoint end;
    if (!sys::parse_rfc3339(text(d, "started_at"), start) ||
        !sys::parse_rfc3339(text(d, "finished_at"), end)) {
        return "-";
    }
    return human_duration(std::chrono::duration_cast<sys::Duration>(end - start));
}

std::string last_poll(const json& poll, sys::TimePoint now) {
    const std::string result = text(poll, "result");
    if (result.empty()) {
        return "never";
    }
    std::string out = fmt::format("{} {}", result, relative_time(now, text(poll, "at")));
    const std::string error = text(poll, "error");
    if (!error.empty()) {
        out += ": " + one_line(error, k_reason_width);
    }
    return out;
}

/// " (since 2m ago, rejected in 28m if still missing)" for a stack whose candidate waits for
/// its images, " (since 2m ago)" for one waiting for the window, min_age or approval (its
/// candidate line says until when); empty otherwise.
std::string waiting(const json& stack, sys::TimePoint now) {
    const json w = stack.value("waiting", json(nullptr));
    if (!w.is_object()) {
        return "";
    }
    sys::TimePoint until;
    const std::string reason = text(w, "reason");
    if ((!reason.empty() && reason != "images") || !sys::parse_rfc3339(text(w, "until"), until)) {
        const std::string since = text(w, "since");
        return since.empty() ? "" : fmt::format(" (since {})", relative_time(now, since));
    }
    const std::string when = until > now ? relative_time(now, until) : "at the next poll";
    return fmt::format(" (since {}, rejected {} if still missing)",
                       relative_time(now, text(w, "since")), when);
}

/// The revision the last poll saw when it is newer than the current release's and changed
/// nothing the stack reads; empty otherwise.
std::string unchanged_revision(const json& stack) {
    const json poll = stack.value("last_poll", json::object());
    const json current = stack.value("current", json(nullptr));
    const std::string seen = poll.is_object() ? text(poll, "revision") : "";
    if (seen.empty() || text(poll, "result") != "ok" || !current.is_object() ||
        text(current, "revision").empty() || text(current, "revision") == seen) {
        return "";
    }
    return seen;
}

/// "slot green serves 12; blue holds 11 until 14:05 (running, rollback switches back)".
std::string slot_note(const json& slots, sys::TimePoint now) {
    auto note = fmt::format("slot {} serves {}", text(slots, "active"),
                            slots.value("active_deployment", std::int64_t{0}));
    const json idle = slots.value("idle_deployment", json(nullptr));
    if (!idle.is_number_integer()) {
        return note;
    }
    note += fmt::format("; {} holds {}", text(slots, "idle"), idle.get<std::int64_t>());
    sys::TimePoint until;
    if (const auto stops = text(slots, "idle_stops_at");
        !stops.empty() && sys::parse_rfc3339(stops, until)) {
        note += until > now ? fmt::format(" (running, stops {})", relative_time(now, until))
                            : " (running, stops at the next poll)";
    } else {
        note += " (stopped)";
    }
    return note;
}

std::string notes(const json& stack, sys::TimePoint now) {
    std::vector<std::string> parts;
    if (stack.value("paused", false)) {
        parts.emplace_back("PAUSED");
    }
    if (stack.contains("pinned") && stack["pinned"].is_number_integer()) {
        parts.push_back(fmt::format("PINNED at {}", stack["pinned"].get<std::int64_t>()));
    }
    if (const std::string drift = text(stack, "drift"); !drift.empty()) {
        parts.push_back("DRIFT: " + one_line(drift, k_candidate_width));
    }
    const std::string candidate = text(stack, "candidate");
    if (!candidate.empty()) {
        // The last column: room for which release waits for which image.
        parts.push_back("next: " + one_line(candidate, k_candidate_width) + waiting(stack, now));
    } else if (const auto seen = unchanged_revision(stack); !seen.empty()) {
        parts.push_back(fmt::format("seen {}: no change to this stack", short_revision(seen)));
    }
    // Blue-green: which slot serves, and whether a rollback is a switch back.
    if (const json slots = stack.value("slots", json(nullptr)); slots.is_object()) {
        parts.push_back(slot_note(slots, now));
    }
    // Image retention: how many kept releases a rollback restores without a registry.
    if (const json releases = stack.value("releases", json(nullptr)); releases.is_object()) {
        parts.push_back(fmt::format("{} of {} kept releases restorable offline",
                                    releases.value("offline", 0), releases.value("kept", 0)));
    }
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : ", ") + p;
    }
    return out;
}

}  // namespace

std::string release_label(const json& d) {
    if (!d.is_object()) {
        return "-";
    }
    const std::string revision = short_revision(text(d, "revision"));
    const std::string tag = text(d, "tag");
    if (!tag.empty()) {
        return revision.empty() ? tag : fmt::format("{} ({})", tag, revision);
    }
    if (!revision.empty()) {
        return revision;
    }
    // A `dir:` stack has no revision: its release is its images.
    if (d.contains("images") && d["images"].is_object() && !d["images"].empty()) {
        return short_image(d["images"].begin()->get<std::string>()) +
               (d["images"].size() > 1 ? fmt::format(" +{}", d["images"].size() - 1) : "");
    }
    return "-";
}

std::string render_status(const json& doc, sys::TimePoint now) {
    Table table({"STACK", "STATE", "RELEASE", "DEPLOYED", "LAST POLL", "NOTES"});
    for (const auto& s : doc.value("stacks", json::array())) {
        const json current = s.value("current", json(nullptr));
        table.add_row({text(s, "name"), text(s, "state"), release_label(current),
                       current.is_object() ? relative_time(now, text(current, "finished_at")) : "-",
                       last_poll(s.value("last_poll", json::object()), now), notes(s, now)});
    }
    return table.render();
}

std::string render_history(const json& doc, sys::TimePoint now) {
    Table table({"ID", "STACK", "STATUS", "RELEASE", "TRIGGER", "STARTED", "TOOK", "REASON"});
    for (const auto& d : doc.value("deployments", json::array())) {
        table.add_row({std::to_string(d.value("id", 0)), text(d, "stack"), text(d, "status"),
                       release_label(d), text(d, "trigger"),
                       relative_time(now, text(d, "started_at")), took(d),
                       one_line(text(d, "reason"), k_reason_width)});
    }
    return table.render();
}

std::string render_deployment(const json& d, sys::TimePoint now) {
    std::string out =
        fmt::format("deployment {} of stack {}\n", d.value("id", 0), text(d, "stack"));
    Table fields({"", ""});
    fields.add_row({"status:", text(d, "status")});
    fields.add_row({"revision:", text(d, "revision", "-")});
    fields.add_row({"tag:", text(d, "tag", "-")});
    fields.add_row({"trigger:", text(d, "trigger")});
    fields.add_row({"started:", fmt::format("{} ({})", text(d, "started_at"),
                                            relative_time(now, text(d, "started_at")))});
    const std::string finished = text(d, "finished_at");
    fields.add_row(
        {"finished:", finished.empty() ? "-" : fmt::format("{} (took {})", finished, took(d))});
    if (d.contains("previous") && d["previous"].is_number_integer()) {
        fields.add_row({"previous:", std::to_string(d["previous"].get<std::int64_t>())});
    }
    fields.add_row({"reason:", text(d, "reason", "-").empty() ? "-" : text(d, "reason")});
    // Drop the empty header line of the two-column layout.
    const std::string rendered = fields.render();
    out += rendered.substr(rendered.find('\n') + 1);

    out += "images:\n";
    Table images({"", ""});
    const json all_images = d.value("images", json::object());
    for (const auto& [service, ref] : all_images.items()) {
        images.add_row(
            {"  " + service, ref.is_string() ? short_image(ref.get<std::string>()) : ""});
    }
    const std::string image_rows = images.render();
    out += image_rows.substr(image_rows.find('\n') + 1);

    out += "events:\n";
    Table events({"", "", ""});
    for (const auto& e : d.value("events", json::array())) {
        events.add_row({"  " + text(e, "at"), text(e, "phase"), one_line(text(e, "message"), 200)});
    }
    const std::string event_rows = events.render();
    out += event_rows.substr(event_rows.find('\n') + 1);
    return out;
}

std::string render_cycle(const std::string& stack, const json& result) {
    std::string out = fmt::format("{}: {}", stack, text(result, "outcome", "unknown"));
    if (result.contains("deployment") && result["deployment"].is_number_integer()) {
        out += fmt::format(", deployment {}", result["deployment"].get<std::int64_t>());
    }
    const std::string message = text(result, "message");
    if (!message.empty()) {
        out += ": " + message;
    }
    return out + "\n";
}

std::string render_tags(const json& doc, const std::string& policy) {
    const json tags = doc.value("tags", json::array());
    if (!doc.contains("matches")) {
        std::string out;
        for (const auto& tag : tags) {
            out += (tag.is_string() ? tag.get<std::string>() : std::string()) + "\n";
        }
        return out;
    }
    const json matches = doc.value("matches", json::array());
    const std::string selected = text(doc, "selected");
    Table table({"TAG", "MATCH"});
    for (const auto& tag : tags) {
        const std::string name = tag.is_string() ? tag.get<std::string>() : std::string();
        const bool match = std::find(matches.begin(), matches.end(), tag) != matches.end();
        table.add_row({name, !selected.empty() && name == selected ? "selected"
                             : match                               ? "yes"
                                                                   : "no"});
    }
    return table.render() +
           (selected.empty() ? "no tag matches " + policy : "selected: " + selected) + "\n";
}

std::string render_verify(const json& doc) {
    const bool verified = doc.value("verified", false);
    // The message starts with the image pinned to its digest ("image REF@DIGEST: ..."), which
    // the lines above already show.
    std::string message = text(doc, "message", "-");
    const std::string pinned = "@" + text(doc, "digest") + ": ";
    if (const auto at = message.find(pinned); pinned.size() > 3 && at != std::string::npos) {
        message.erase(0, at + pinned.size());
    }
    Table fields({"", ""});
    fields.add_row({"image:", text(doc, "image")});
    fields.add_row({"digest:", text(doc, "digest")});
    fields.add_row({"verdict:", verified ? "verified" : "NOT verified"});
    fields.add_row({verified ? "by:" : "why:", message});
    std::string keys;
    for (const auto& key : doc.value("keys", json::array())) {
        keys += fmt::format("{}{} ({})", keys.empty() ? "" : ", ", text(key, "file"),
                            text(key, "algorithm"));
    }
    if (!keys.empty()) {
        fields.add_row({"keys:", keys});
    }
    if (!text(doc, "identity").empty()) {
        fields.add_row({"identity:", text(doc, "identity")});
        fields.add_row({"issuer:", text(doc, "issuer")});
        fields.add_row({"trusted root:", text(doc, "trusted_root")});
    }
    // Drop the empty header line of the two-column layout.
    const std::string rendered = fields.render();
    return rendered.substr(rendered.find('\n') + 1);
}

namespace {

/// "r/web:2.0 sha256:0123456789ab" of {"image","tag","digest"}.
std::string image_version(const json& v) {
    std::string out = text(v, "image");
    if (!text(v, "tag").empty()) {
        out += ":" + text(v, "tag");
    }
    const std::string digest = text(v, "digest");
    if (!digest.empty()) {
        out += " " + digest.substr(0, std::min<std::size_t>(digest.size(), 19));
    }
    return out;
}

std::string release_name(const json& r) {
    if (!r.is_object()) {
        return "nothing";
    }
    const std::string revision = short_revision(text(r, "revision"));
    const std::string tag = text(r, "tag");
    return tag.empty() ? (revision.empty() ? "-" : revision)
                       : fmt::format("{} ({})", tag, revision);
}

}  // namespace

std::string render_diff(const json& doc) {
    const std::string stack = text(doc, "stack");
    const json current = doc.value("current", json());
    if (!doc.value("pending", false)) {
        return fmt::format("{}: nothing to deploy (runs {})\n", stack, release_name(current));
    }
    std::string out = fmt::format("{}: {} -> {}\n", stack, release_name(current),
                                  release_name(doc.value("candidate", json())));
    if (!text(doc, "note").empty()) {
        out += "note: " + text(doc, "note") + "\n";
    }
    const json commits = doc.value("commits", json::array());
    if (!commits.empty()) {
        out += "\ncommits:\n";
        for (const auto& c : commits) {
            out += fmt::format("  {} {}\n", short_revision(text(c, "id")), text(c, "subject"));
        }
        if (doc.value("commits_truncated", false)) {
            out += "  ...\n";
        }
    }
    const json services = doc.value("services", json::object());
    Table table({"SERVICE", "CHANGE", "FROM", "TO"});
    std::size_t rows = 0;
    for (const auto& c : services.value("changed", json::array())) {
        table.add_row({text(c, "service"), "image", image_version(c.value("from", json())),
                       image_version(c.value("to", json()))});
        ++rows;
    }
    for (const auto& c : services.value("added", json::array())) {
        table.add_row({text(c, "service"), "added", "-", image_version(c)});
        ++rows;
    }
    for (const auto& c : services.value("removed", json::array())) {
        table.add_row({text(c, "service"), "removed", image_version(c), "-"});
        ++rows;
    }
    if (rows > 0) {
        out += "\nservices:\n" + table.render();
    }
    const std::string patch = text(doc, "compose_diff");
    if (!patch.empty()) {
        out += "\ncompose files:\n" + patch;
    }
    return out;
}

namespace {

constexpr std::size_t k_fleet_hosts_shown = 5;

std::string host_names(const json& hosts) {
    std::string out;
    std::size_t shown = 0;
    for (const auto& host : hosts) {
        if (shown == k_fleet_hosts_shown) {
            return out + fmt::format(", ... ({} more)", hosts.size() - shown);
        }
        out += (out.empty() ? "" : ", ") + (host.is_string() ? host.get<std::string>() : "?");
        ++shown;
    }
    return out;
}

}  // namespace

std::string fleet_release_label(const json& j) {
    return text(j, "name", text(j, "release", "?"));
}

std::string render_fleet(const json& doc, sys::TimePoint now) {
    const int max_updating = doc.value("max_updating", 1);
    std::string out = fmt::format("fleet group {}: this host is {}, at most {} updating\n",
                                  text(doc, "group", "?"), text(doc, "host", "?"), max_updating);
    const auto stacks = doc.value("stacks", json::array());
    if (stacks.empty()) {
        out += "no stack has rollout keys in etcd yet\n";
    }
    const auto holders = [&](const json& list, const char* state) {
        std::string rows;
        for (const auto& h : list) {
            rows += fmt::format("  {:<9} {}  release {}  since {}\n", state, text(h, "host", "?"),
                                fleet_release_label(h), relative_time(now, text(h, "since")));
        }
        return rows;
    };
    for (const auto& stack : stacks) {
        const auto updating = stack.value("updating", json::array());
        const auto queued = stack.value("queued", json::array());
        out += fmt::format("\n{}: {} of {} updating, {} queued\n", text(stack, "stack", "?"),
                           updating.size(), max_updating, queued.size());
        if (const auto& halt = stack.value("halt", json()); halt.is_object()) {
            out += fmt::format("  HALTED    release {} failed on {} {}{}{}\n",
                               fleet_release_label(halt), text(halt, "host", "?"),
                               relative_time(now, text(halt, "time")),
                               text(halt, "reason").empty() ? "" : ": ",
                               one_line(text(halt, "reason"), k_candidate_width));
            out += fmt::format(
                "            no host starts it until `agentctl fleet unhalt {}` "
                "or a newer release passes\n",
                text(stack, "stack", "?"));
        }
        out += holders(updating, "updating");
        out += holders(queued, "queued");
        for (const auto& done : stack.value("done", json::array())) {
            const auto hosts = done.value("hosts", json::array());
            out +=
                fmt::format("  done      release {} on {} host{}: {}\n", fleet_release_label(done),
                            hosts.size(), hosts.size() == 1 ? "" : "s", host_names(hosts));
        }
        for (const auto& key : stack.value("malformed", json::array())) {
            out += fmt::format("  ignored   {} (its value is not agentd's)\n",
                               key.is_string() ? key.get<std::string>() : "?");
        }
    }
    for (const auto& key : doc.value("malformed", json::array())) {
        out += fmt::format("ignored {} (not a stack's key)\n",
                           key.is_string() ? key.get<std::string>() : "?");
    }
    return out;
}

}  // namespace agentd::ctl
