#include "agent/daemon/api_routes.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "agent/config/config.h"
#include "agent/config/fleet.h"
#include "agent/daemon/verify_request.h"
#include "agent/model/json.h"
#include "agent/policy/tag_order.h"
#include "agent/policy/tag_policy.h"

namespace agentd::daemon {
namespace {

constexpr int k_default_history_limit = 20;
constexpr int k_max_history_limit = 1000;

using nlohmann::json;

int http_status(sys::Error::Kind kind) {
    switch (kind) {
        case sys::Error::Kind::InvalidInput:
            return 400;
        case sys::Error::Kind::NotFound:
            return 404;
        case sys::Error::Kind::Conflict:
            return 409;
        // Only servers agentd talks to refuse credentials: agentctl's own access is the
        // socket's mode, so a refusal is the upstream's answer, like its failures.
        case sys::Error::Kind::Unauthorized:
        case sys::Error::Kind::Unavailable:
            return 502;
        case sys::Error::Kind::Failed:
            break;
    }
    return 500;
}

ApiReply error_reply(const sys::Error& e) {
    return {http_status(e.kind), json{{"error", e.message}}};
}

std::optional<std::int64_t> parse_id(std::string_view text) {
    std::int64_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value <= 0) {
        return std::nullopt;
    }
    return value;
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        const auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return parts;
}

// A client's id for its request (`sync`'s "request"): short, and plain enough to log and echo.
bool valid_request_id(const std::string& id) {
    return id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                      c == '-';
           });
}

std::optional<std::string> query_value(const ApiRequest& r, const std::string& key) {
    auto it = r.query.find(key);
    if (it == r.query.end() || it->second.empty()) {
        return std::nullopt;
    }
    return it->second;
}

/// The request body as a JSON object; an empty body is an empty object.
sys::Result<json> body_object(const ApiRequest& r) {
    if (r.body.find_first_not_of(" \t\r\n") == std::string::npos) {
        return json::object();
    }
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return sys::Error::invalid("request body: expected a JSON object");
    }
    return j;
}

ApiReply method_not_allowed(const std::string& allowed) {
    return {405, json{{"error", fmt::format("method not allowed (use {})", allowed)}}};
}

ApiReply get_status(ApiBackend& backend, const ApiRequest& r) {
    auto result = backend.status(query_value(r, "stack"));
    if (!result) {
        return error_reply(result.error());
    }
    json stacks = json::array();
    for (const auto& s : *result) {
        stacks.push_back(to_json(s));
    }
    return {200, json{{"stacks", stacks}}};
}

ApiReply get_history(ApiBackend& backend, const ApiRequest& r) {
    int limit = k_default_history_limit;
    if (auto text = query_value(r, "limit")) {
        auto value = parse_id(*text);
        if (!value || *value > k_max_history_limit) {
            return error_reply(sys::Error::invalid(fmt::format(
                "limit: expected a number from 1 to {}, got \"{}\"", k_max_history_limit, *text)));
        }
        limit = static_cast<int>(*value);
    }
    auto result = backend.history(query_value(r, "stack"), limit);
    if (!result) {
        return error_reply(result.error());
    }
    json deployments = json::array();
    for (const auto& d : *result) {
        deployments.push_back(model::to_json(d));
    }
    return {200, json{{"deployments", deployments}}};
}

ApiReply get_deployment(ApiBackend& backend, std::string_view id_text) {
    auto id = parse_id(id_text);
    if (!id) {
        return error_reply(sys::Error::invalid(
            fmt::format("deployment: expected a positive number, got \"{}\"", id_text)));
    }
    auto result = backend.show(*id);
    if (!result) {
        return error_reply(result.error());
    }
    return {200, model::to_json(*result, true)};
}

/// `key` of a request body: a deployment id (a positive integer), or with `required` false
/// also null or absent (nullopt). Anything else is a 400 naming the key.
sys::Result<std::optional<std::int64_t>> deployment_id(const json& args, const char* key,
                                                       bool required) {
    const json value = args.value(key, json(nullptr));
    if (value.is_number_integer() && value.get<std::int64_t>() > 0) {
        return std::optional<std::int64_t>(value.get<std::int64_t>());
    }
    if (value.is_null() && !required) {
        return std::optional<std::int64_t>();
    }
    return sys::Error::invalid(fmt::format("{}: expected a deployment id{}", key,
                                           required ? "" : " or null"));
}

/// The answer of a command that ran a cycle (rollback, pin, approve, retry).
ApiReply cycle_reply(const sys::Result<deploy::CycleResult>& result) {
    return result ? ApiReply{200, to_json(*result)} : error_reply(result.error());
}

ApiReply post_stack(ApiBackend& backend, const std::string& stack, std::string_view action,
                    const ApiRequest& r) {
    if (!config::valid_stack_name(stack)) {
        return error_reply(unknown_stack(stack));
    }
    auto body = body_object(r);
    if (!body) {
        return error_reply(body.error());
    }
    const json& args = *body;
    if (action == "sync") {
        const json wait = args.value("wait", json(false));
        if (!wait.is_boolean()) {
            return error_reply(sys::Error::invalid("wait: expected true or false"));
        }
        const json request = args.value("request", json(""));
        if (!request.is_string() || !valid_request_id(request.get<std::string>())) {
            return error_reply(sys::Error::invalid(
                "request: expected up to 64 letters, digits, '.', '_' or '-'"));
        }
        auto result = backend.sync(stack, wait.get<bool>(), request.get<std::string>());
        if (!result) {
            return error_reply(result.error());
        }
        const auto& cycle = *result;
        return cycle ? ApiReply{200, to_json(*cycle)} : ApiReply{202, json{{"queued", true}}};
    }
    if (action == "rollback") {
        const auto to = deployment_id(args, "to", false);
        return to ? cycle_reply(backend.rollback(stack, *to)) : error_reply(to.error());
    }
    if (action == "pin") {
        const auto deployment = deployment_id(args, "deployment", true);
        return deployment ? cycle_reply(backend.pin(stack, **deployment))
                          : error_reply(deployment.error());
    }
    if (action == "approve") {
        const auto deployment = deployment_id(args, "deployment", false);
        return deployment ? cycle_reply(backend.approve(stack, *deployment))
                          : error_reply(deployment.error());
    }
    if (action == "retry") {
        return cycle_reply(backend.retry(stack));
    }
    auto result =
        action == "unpin" ? backend.unpin(stack) : backend.set_paused(stack, action == "pause");
    if (!result) {
        return error_reply(result.error());
    }
    const auto& state = *result;
    return {200, json{{"stack", stack},
                      {"paused", state.paused},
                      {"pinned", state.pinned ? json(*state.pinned) : json(nullptr)}}};
}

/// The tag policy of a tags request: `semver`, or `regex` with an optional `order`; nullopt
/// when neither is given. Errors name the query parameter.
sys::Result<std::optional<policy::TagPolicy>> tags_policy(const ApiRequest& r) {
    const auto semver = query_value(r, "semver");
    const auto regex = query_value(r, "regex");
    const auto order = query_value(r, "order");
    if (semver && regex) {
        return sys::Error::invalid("semver, regex: give one tag policy, not both");
    }
    if (order && !regex) {
        return sys::Error::invalid("order: applies to a regex policy only");
    }
    if (semver) {
        auto p = policy::TagPolicy::semver(*semver);
        if (!p) {
            return sys::Error::invalid("semver: " + p.error().message);
        }
        return std::optional<policy::TagPolicy>(std::move(*p));
    }
    if (regex) {
        auto parsed_order = policy::parse_regex_order(order.value_or("alphabetical"));
        if (!parsed_order) {
            return sys::Error::invalid(parsed_order.error().message);
        }
        auto p = policy::TagPolicy::regex(*regex, *parsed_order);
        if (!p) {
            return sys::Error::invalid("regex: " + p.error().message);
        }
        return std::optional<policy::TagPolicy>(std::move(*p));
    }
    return std::optional<policy::TagPolicy>();
}

/// GET /v1/tags?image=REF[&semver=R | &regex=RE[&order=O]]: the repository's tags in listing
/// order and, with a policy, its matches and the tag it selects (as for a fresh deployment:
/// nothing runs yet, so no_downgrade does not apply).
ApiReply get_tags(ApiBackend& backend, const ApiRequest& r) {
    const auto image_text = query_value(r, "image");
    if (!image_text) {
        return error_reply(sys::Error::invalid("image: required, e.g. image=ghcr.io/acme/web"));
    }
    auto image = sources::ImageRef::parse(*image_text);
    if (!image) {
        return error_reply(sys::Error::invalid("image: " + image.error().message));
    }
    auto tag_policy = tags_policy(r);
    if (!tag_policy) {
        return error_reply(tag_policy.error());
    }
    auto listed = backend.tags(*image);
    if (!listed) {
        return error_reply(listed.error());
    }
    model::TagListing listing;
    listing.tags = policy::listing_order(std::move(*listed));
    if (const auto& p = *tag_policy) {
        auto selection = p->select(listing.tags, std::nullopt, /*no_downgrade=*/false);
        listing.matches = std::move(selection.matches);
        listing.selected = std::move(selection.selected);
    }
    return {200, model::to_json(listing)};
}

/// The reference as agentd understood it: "ghcr.io/acme/web:1.2.0", "nginx:latest",
/// "ghcr.io/acme/web@sha256:...".
std::string written_reference(const sources::ImageRef& image) {
    std::string out = image.familiar_name();
    if (!image.tag.empty()) {
        out += ":" + image.tag;
    }
    if (!image.digest.empty()) {
        out += "@" + image.digest;
    }
    return out;
}

/// POST /v1/verify {"image", "key": FILE | [FILE...]} or {"image", "identity", "issuer"}:
/// {"image","digest","verified","message","keys":[{"file","algorithm"}],"identity","issuer"}.
/// The request is checked and its keys read before any registry is asked; a verdict either way
/// is a 200.
ApiReply post_verify(ApiBackend& backend, const ApiRequest& r) {
    auto body = body_object(r);
    if (!body) {
        return error_reply(body.error());
    }
    auto request = parse_verify_request(*body);
    if (!request) {
        return error_reply(request.error());
    }
    auto policy = verify_policy(*request);
    if (!policy) {
        return error_reply(policy.error());
    }
    auto verdict = backend.verify(request->image, *policy);
    if (!verdict) {
        return error_reply(verdict.error());
    }
    json keys = json::array();
    if (policy->cosign) {
        for (const auto& key : policy->cosign->keys) {
            keys.push_back(json{{"file", key.name()}, {"algorithm", key.algorithm()}});
        }
    }
    const auto& keyless = policy->keyless;
    return {200, json{{"image", written_reference(request->image)},
                      {"digest", verdict->digest},
                      {"verified", verdict->verified},
                      {"message", verdict->message},
                      {"keys", keys},
                      {"identity", keyless ? json(keyless->policy.identity.text()) : json(nullptr)},
                      {"issuer", keyless ? json(keyless->policy.issuer.text()) : json(nullptr)},
                      {"trusted_root",
                       keyless ? json(keyless->trusted_root_file.string()) : json(nullptr)}}};
}

/// GET /v1/stacks/NAME/diff: to_json(StackDiff).
ApiReply get_diff(ApiBackend& backend, const std::string& stack) {
    if (!config::valid_stack_name(stack)) {
        return error_reply(unknown_stack(stack));
    }
    auto result = backend.diff(stack);
    if (!result) {
        return error_reply(result.error());
    }
    return {200, to_json(*result)};
}

ApiReply post_reload(ApiBackend& backend) {
    auto result = backend.reload();
    if (!result) {
        return error_reply(result.error());
    }
    return {200, json{{"reloaded", true}, {"stacks", *result}}};
}

}  // namespace

sys::Error unknown_stack(const std::string& name) {
    return sys::Error::not_found(fmt::format("unknown stack \"{}\"", name));
}

std::string stack_state_name(const model::StackState& state,
                             const std::optional<model::Deployment>& current,
                             const std::optional<model::Deployment>& latest) {
    if (latest && latest->status == model::Status::InProgress) {
        return "deploying";
    }
    if (state.paused) {
        return "paused";
    }
    if (current) {
        return state.last_poll.drift.empty() ? "running" : "drifted";
    }
    if (latest &&
        (latest->status == model::Status::Failed || latest->status == model::Status::RolledBack ||
         latest->status == model::Status::Rejected)) {
        return "failed";
    }
    return "new";
}

json to_json(const StackStatus& s) {
    const auto& st = s.stack_state;
    auto or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
    return json{
        {"name", s.name},
        {"state", s.state},
        {"paused", st.paused},
        {"pinned", st.pinned ? json(*st.pinned) : json(nullptr)},
        {"current", s.current ? model::to_json(*s.current) : json(nullptr)},
        {"last_poll",
         {{"at", st.last_poll.at ? json(sys::format_rfc3339_ms(*st.last_poll.at)) : json(nullptr)},
          {"result", or_null(st.last_poll.result)},
          {"error", or_null(st.last_poll.error)},
          {"revision", or_null(st.last_poll.revision)}}},
        {"candidate", or_null(st.candidate)},
        {"drift", or_null(st.last_poll.drift)},
        {"releases", st.kept_releases ? json{{"kept", *st.kept_releases},
                                             {"offline", st.offline_releases.value_or(0)}}
                                      : json(nullptr)},
        {"slots",
         st.slots
             ? json{{"active", st.slots->active},
                    {"active_deployment", st.slots->active_deployment},
                    {"idle", model::other_slot(st.slots->active)},
                    {"idle_deployment",
                     st.slots->idle_deployment ? json(*st.slots->idle_deployment) : json(nullptr)},
                    {"idle_stops_at", st.slots->idle_stops_at
                                          ? json(sys::format_rfc3339_ms(*st.slots->idle_stops_at))
                                          : json(nullptr)}}
             : json(nullptr)},
        {"waiting", s.waiting ? json{{"deployment", s.waiting->deployment},
                                     {"reason", s.waiting->reason},
                                     {"since", sys::format_rfc3339_ms(s.waiting->since)},
                                     {"until", s.waiting->until
                                                   ? json(sys::format_rfc3339_ms(*s.waiting->until))
                                                   : json(nullptr)}}
                              : json(nullptr)},
    };
}

json to_json(const StackDiff& d) {
    auto release = [](const model::Release& r) {
        return json{{"revision", r.revision.empty() ? json(nullptr) : json(r.revision)},
                    {"tag", r.tag.empty() ? json(nullptr) : json(r.tag)}};
    };
    json current = nullptr;
    if (d.current) {
        current = release(d.current->release);
        current["deployment"] = d.current->id;
    }
    json commits = json::array();
    for (const auto& c : d.commits) {
        commits.push_back(json{{"id", c.id}, {"subject", c.subject}});
    }
    const std::map<std::string, std::string> none;
    return json{
        {"stack", d.stack},
        {"pending", d.pending},
        {"note", d.note.empty() ? json(nullptr) : json(d.note)},
        {"current", current},
        {"candidate", d.candidate ? release(*d.candidate) : json(nullptr)},
        {"commits", commits},
        {"commits_truncated", d.commits_truncated},
        {"compose_diff", d.compose_diff},
        {"services", deploy::to_json(d.services, d.current ? d.current->release.images : none,
                                     d.candidate ? d.candidate->images : none)},
    };
}

json to_json(const deploy::CycleResult& r) {
    return json{{"outcome", deploy::to_string(r.outcome)},
                {"deployment", r.deployment ? json(*r.deployment) : json(nullptr)},
                {"message", r.message}};
}

namespace {

/// The release's name where this host knows it, else null.
json name_of(const std::string& release, const ReleaseNames& names) {
    const auto it = names.find(release);
    return it == names.end() ? json(nullptr) : json(it->second);
}

json to_json(const fleet::SlotHolder& h, const ReleaseNames& names) {
    return json{{"host", h.host},
                {"release", h.release},
                {"name", name_of(h.release, names)},
                {"since", h.since.empty() ? json(nullptr) : json(h.since)},
                {"lease", fmt::format("{:x}", h.lease)}};
}

json to_json(const fleet::Halt& h, const ReleaseNames& names) {
    return json{{"release", h.release},
                {"name", name_of(h.release, names)},
                {"host", h.host},
                {"reason", h.reason},
                {"time", h.time.empty() ? json(nullptr) : json(h.time)}};
}

}  // namespace

json to_json(const fleet::GroupView& g, const std::map<std::string, ReleaseNames>& names) {
    static const ReleaseNames none;
    json stacks = json::array();
    json unowned = json::array();
    for (const auto& [name, view] : g.stacks) {
        if (name.empty()) {
            unowned = view.malformed;
            continue;
        }
        const auto it = names.find(name);
        const auto& known = it == names.end() ? none : it->second;
        json updating = json::array();
        json queued = json::array();
        for (std::size_t i = 0; i < view.queue.size(); ++i) {
            (std::cmp_less(i, g.max_updating) ? updating : queued)
                .push_back(to_json(view.queue[i], known));
        }
        json done = json::array();
        for (const auto& [release, hosts] : view.done) {
            done.push_back(
                json{{"release", release}, {"name", name_of(release, known)}, {"hosts", hosts}});
        }
        stacks.push_back(json{{"stack", name},
                              {"updating", updating},
                              {"queued", queued},
                              {"halt", view.halt ? to_json(*view.halt, known) : json(nullptr)},
                              {"done", done},
                              {"malformed", view.malformed}});
    }
    return json{{"group", g.group},       {"host", g.host},   {"max_updating", g.max_updating},
                {"revision", g.revision}, {"stacks", stacks}, {"malformed", unowned}};
}

namespace {

/// /v1/fleet[?stack=NAME] (GET), /v1/fleet/stacks/NAME/unhalt and .../release {"host"} (POST).
ApiReply fleet_request(ApiBackend& backend, const ApiRequest& r,
                       const std::vector<std::string_view>& parts) {
    fleet::Admin* admin = backend.fleet();
    const bool get = r.method == "GET" || r.method == "HEAD";
    const bool status = parts.size() == 2;
    const bool action = parts.size() == 5 && parts[2] == "stacks" &&
                        (parts[4] == "unhalt" || parts[4] == "release");
    if (!status && !action) {
        return {404, json{{"error", fmt::format("no such endpoint: {}", r.path)}}};
    }
    if (status != get) {
        return method_not_allowed(status ? "GET" : "POST");
    }
    if (admin == nullptr) {
        return error_reply(sys::Error::conflict(
            "this agentd is not in a fleet (its configuration has no fleet: section)"));
    }
    const auto name_error = [](const char* what, std::string_view name) {
        return error_reply(sys::Error::invalid(fmt::format(
            "{} \"{}\": expected 1 to 128 letters, digits, '.', '_' or '-'", what, name)));
    };
    if (status) {
        const auto stack = query_value(r, "stack");
        if (stack && !config::is_fleet_name(*stack)) {
            return name_error("stack", *stack);
        }
        auto group = admin->look(stack);
        if (!group) {
            return error_reply(group.error());
        }
        std::map<std::string, ReleaseNames> names;
        for (const auto& [name, view] : group->stacks) {
            if (!name.empty()) {
                names[name] = backend.release_names(name);
            }
        }
        return {200, daemon::to_json(*group, names)};
    }
    const std::string stack(parts[3]);
    if (!config::is_fleet_name(stack)) {
        return name_error("stack", stack);
    }
    auto body = body_object(r);
    if (!body) {
        return error_reply(body.error());
    }
    if (parts[4] == "unhalt") {
        auto halt = admin->unhalt(stack);
        return halt ? ApiReply{200, json{{"stack", stack},
                                         {"halt", to_json(*halt, backend.release_names(stack))}}}
                    : error_reply(halt.error());
    }
    const json host = body->value("host", json());
    if (!host.is_string()) {
        return error_reply(sys::Error::invalid("host: expected the host's name in the fleet"));
    }
    if (!config::is_fleet_name(host.get<std::string>())) {
        return name_error("host", host.get<std::string>());
    }
    auto released = admin->release(stack, host.get<std::string>());
    return released
               ? ApiReply{200, json{{"stack", stack},
                                    {"released", to_json(*released, backend.release_names(stack))}}}
               : error_reply(released.error());
}

}  // namespace

/// GET /v1/events[?stack=NAME]: live progress as JSON lines (application/x-ndjson).
ApiReply get_events(ApiBackend& backend, const ApiRequest& r) {
    std::optional<std::string> stack;
    if (const auto it = r.query.find("stack"); it != r.query.end() && !it->second.empty()) {
        stack = it->second;
    }
    auto stream = backend.events(stack);
    if (!stream) {
        return error_reply(stream.error());
    }
    ApiReply reply;
    reply.content_type = "application/x-ndjson";
    reply.stream = std::shared_ptr<ApiStream>(std::move(*stream));
    return reply;
}

ApiReply handle_request(ApiBackend& backend, const ApiRequest& request) {
    const auto parts = split_path(request.path);
    const bool get = request.method == "GET" || request.method == "HEAD";
    const bool post = request.method == "POST";
    if (parts.size() < 2 || parts[0] != "v1") {
        return {404, json{{"error", fmt::format("no such endpoint: {}", request.path)}}};
    }
    try {
        if (parts.size() == 2 && parts[1] == "status") {
            return get ? get_status(backend, request) : method_not_allowed("GET");
        }
        if (parts.size() == 2 && parts[1] == "history") {
            return get ? get_history(backend, request) : method_not_allowed("GET");
        }
        if (parts.size() == 3 && parts[1] == "deployments") {
            return get ? get_deployment(backend, parts[2]) : method_not_allowed("GET");
        }
        if (parts.size() == 2 && parts[1] == "events") {
            return request.method == "GET" ? get_events(backend, request)
                                           : method_not_allowed("GET");
        }
        if (parts.size() == 2 && parts[1] == "tags") {
            return get ? get_tags(backend, request) : method_not_allowed("GET");
        }
        if (parts.size() == 2 && parts[1] == "verify") {
            return post ? post_verify(backend, request) : method_not_allowed("POST");
        }
        if (parts.size() == 2 && parts[1] == "reload") {
            return post ? post_reload(backend) : method_not_allowed("POST");
        }
        if (parts[1] == "fleet") {
            return fleet_request(backend, request, parts);
        }
        if (parts.size() == 4 && parts[1] == "stacks" && parts[3] == "diff") {
            return get ? get_diff(backend, std::string(parts[2])) : method_not_allowed("GET");
        }
        if (parts.size() == 4 && parts[1] == "stacks" &&
            (parts[3] == "sync" || parts[3] == "rollback" || parts[3] == "pause" ||
             parts[3] == "resume" || parts[3] == "pin" || parts[3] == "unpin" ||
             parts[3] == "retry" || parts[3] == "approve")) {
            return post ? post_stack(backend, std::string(parts[2]), parts[3], request)
                        : method_not_allowed("POST");
        }
    } catch (const std::exception& e) {
        // The store throws when it cannot read; the API answers instead of dying.
        return error_reply(sys::Error::failed(e.what()));
    }
    return {404, json{{"error", fmt::format("no such endpoint: {}", request.path)}}};
}

}  // namespace agentd::daemon
