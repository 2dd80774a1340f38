#include "agent/ctl/commands.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/ctl/api_client.h"
#include "agent/ctl/progress_follower.h"
#include "agent/ctl/progress_view.h"
#include "agent/ctl/render.h"
#include "agent/model/json.h"
#include "agent/policy/tag_policy.h"
#include "agent/sources/image_ref.h"
#include "agent/sys/url.h"
#include "agent/sys/version.h"

namespace agentd::ctl {
namespace {

using nlohmann::json;

// A gated deployment takes health.timeout (default 180s) plus pulls: wait generously.
constexpr auto k_wait_timeout = std::chrono::hours(2);
constexpr auto k_short_timeout = std::chrono::seconds(30);
// The registry client retries 429 and 5xx answers (Retry-After up to a minute) per request.
constexpr auto k_registry_timeout = std::chrono::minutes(5);
constexpr const char* k_default_config = "/etc/agentd/agent.yaml";
// `sync STACK --wait`: how long to wait for agentd to confirm the subscription to live progress,
// and for the cycle's end line once the cycle answered (it is published before the answer).
constexpr auto k_subscribe_timeout = std::chrono::seconds(5);
constexpr auto k_end_line_timeout = std::chrono::seconds(5);

/// The parsed command line.
struct Args {
    std::string socket;
    bool json = false;
    std::string stack;
    int limit = 20;
    std::int64_t deployment = 0;
    std::optional<std::int64_t> to;
    bool wait = false;
    std::string config_file = k_default_config;
    std::string semver;
    std::string regex;
    std::string order;
    std::vector<std::string> tags;
    std::string image;
    std::vector<std::string> keys;
    std::string identity;
    std::string issuer;
    std::string trusted_root;
    std::string host;
};

/// One invocation: the API client and the output conventions shared by every command.
class Session {
public:
    Session(CtlContext& context, const Args& args)
        : m_c(context), m_args(args), m_api(context.http, args.socket) {}

    /// The answer, or nullopt after printing why (then `exit_code` says how to exit).
    std::optional<json> request(const std::string& method, const std::string& path,
                                const json& body = json::object(),
                                sys::Duration timeout = k_short_timeout) {
        auto answer = method == "GET" ? m_api.get(path, timeout) : m_api.post(path, body, timeout);
        if (!answer) {
            if (answer.error().kind == sys::Error::Kind::InvalidInput) {
                fail(k_exit_failed, answer.error().message);
            } else {
                fail(k_exit_unreachable,
                     fmt::format("cannot reach agentd at {}: {} (is agentd running?)",
                                 m_api.socket(), answer.error().message));
            }
            return std::nullopt;
        }
        if (!answer->ok()) {
            fail(exit_code_for_status(answer->status), answer->error());
            return std::nullopt;
        }
        return answer->body;
    }

    void fail(int code, const std::string& message) {
        exit_code = code;
        m_c.err << "agentctl: " << message << "\n";
    }

    /// --json prints the document; otherwise `human` renders it.
    template <class Render>
    void print(const json& doc, Render human) {
        if (m_args.json) {
            m_c.out << doc.dump(2) << "\n";
        } else {
            m_c.out << human(doc);
        }
    }

    sys::TimePoint now() { return m_c.clock.now(); }

    /// Writes `text` at once (a live display, or lines another program reads as they come).
    void write(const std::string& text) {
        if (!text.empty()) {
            m_c.out << text << std::flush;
        }
    }

    /// How live progress lines are shown: as the JSON lines with --json (without heartbeats),
    /// else through `view`.
    void show_progress(ProgressView& view, const json& line) {
        if (m_args.json) {
            if (line.value("type", "") != "heartbeat") {
                write(line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
            }
        } else {
            write(view.show(line));
        }
    }

    ApiClient& api() { return m_api; }
    CtlContext& context() { return m_c; }

    int exit_code = k_exit_ok;

private:
    CtlContext& m_c;
    const Args& m_args;
    ApiClient m_api;
};

std::string stack_path(const std::string& stack, const std::string& action) {
    return fmt::format("/v1/stacks/{}/{}", sys::url_encode(stack), action);
}

int cmd_status(Session& s, const Args& a) {
    const std::string query = a.stack.empty() ? "" : "?stack=" + sys::url_encode(a.stack);
    if (auto doc = s.request("GET", "/v1/status" + query)) {
        s.print(*doc, [&](const json& d) { return render_status(d, s.now()); });
    }
    return s.exit_code;
}

int cmd_history(Session& s, const Args& a) {
    std::string query = fmt::format("?limit={}", a.limit);
    if (!a.stack.empty()) {
        query += "&stack=" + sys::url_encode(a.stack);
    }
    if (auto doc = s.request("GET", "/v1/history" + query)) {
        s.print(*doc, [&](const json& d) { return render_history(d, s.now()); });
    }
    return s.exit_code;
}

int cmd_show(Session& s, const Args& a) {
    if (auto doc = s.request("GET", fmt::format("/v1/deployments/{}", a.deployment))) {
        s.print(*doc, [&](const json& d) { return render_deployment(d, s.now()); });
    }
    return s.exit_code;
}

/// The stacks named on the command line, or every stack agentd knows.
std::optional<std::vector<std::string>> target_stacks(Session& s, const Args& a) {
    if (!a.stack.empty()) {
        return std::vector<std::string>{a.stack};
    }
    auto doc = s.request("GET", "/v1/status");
    if (!doc) {
        return std::nullopt;
    }
    std::vector<std::string> names;
    for (const auto& stack : doc->value("stacks", json::array())) {
        names.push_back(stack.value("name", ""));
    }
    return names;
}

/// `sync STACK --wait` with live progress: on a terminal the progress display, with --json the
/// JSON lines, and then the outcome as before (with --json: the document as the last line).
/// Without a terminal or --json, or without a second client, only the outcome.
int cmd_sync_following(Session& s, const Args& a) {
    auto& c = s.context();
    ProgressView view(c.terminal);
    ProgressFollower follower(*c.stream_http, s.api().socket(), a.stack,
                              [&](const json& line) { s.show_progress(view, line); });
    const bool following = follower.start(k_subscribe_timeout);
    json body{{"wait", true}};
    if (following) {
        body["request"] = follower.request();
    }
    auto doc = s.request("POST", stack_path(a.stack, "sync"), body, k_wait_timeout);
    if (following) {
        (void)follower.finish(doc ? *doc : json::object(), k_end_line_timeout);
    }
    if (!a.json) {
        s.write(view.finish());
    }
    if (!doc) {
        return s.exit_code;
    }
    if (a.json) {
        s.write(doc->dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    } else {
        s.write(render_cycle(a.stack, *doc));
    }
    return exit_code_for_outcome(doc->value("outcome", ""));
}

int cmd_sync(Session& s, const Args& a) {
    const auto& c = s.context();
    if (a.wait && !a.stack.empty() && c.stream_http != nullptr && (a.json || c.terminal)) {
        return cmd_sync_following(s, a);
    }
    auto stacks = target_stacks(s, a);
    if (!stacks) {
        return s.exit_code;
    }
    json results = json::array();
    int code = k_exit_ok;
    for (const auto& stack : *stacks) {
        auto doc =
            s.request("POST", stack_path(stack, "sync"), json{{"wait", a.wait}},
                      a.wait ? sys::Duration(k_wait_timeout) : sys::Duration(k_short_timeout));
        if (!doc) {
            return s.exit_code;
        }
        (*doc)["stack"] = stack;
        results.push_back(*doc);
        if (a.wait) {
            code = std::max(code, exit_code_for_outcome(doc->value("outcome", "")));
        }
    }
    // One stack: the daemon's document as is; all stacks: {"results": [...]}.
    const json doc = a.stack.empty() ? json{{"results", results}} : results.at(0);
    s.print(doc, [&](const json&) {
        std::string out;
        for (const auto& r : results) {
            const std::string stack = r.value("stack", "");
            out += a.wait ? render_cycle(stack, r) : stack + ": sync queued\n";
        }
        return out;
    });
    return code;
}

/// `watch [STACK]`: live progress until agentd ends the stream (it stops) or Ctrl-C.
int cmd_watch(Session& s, const Args& a) {
    ProgressView view(s.context().terminal);
    const std::string query = a.stack.empty() ? "" : "?stack=" + sys::url_encode(a.stack);
    auto answer = s.api().stream("/v1/events" + query, [&](const json& line) {
        s.show_progress(view, line);
        return true;
    });
    if (!a.json) {
        s.write(view.finish());
    }
    if (!answer) {
        s.fail(k_exit_unreachable, fmt::format("cannot reach agentd at {}: {} (is agentd running?)",
                                               s.api().socket(), answer.error().message));
        return s.exit_code;
    }
    if (!answer->ok()) {
        s.fail(exit_code_for_status(answer->status), answer->error());
        return s.exit_code;
    }
    s.fail(k_exit_unreachable, "agentd ended the stream (it is stopping)");
    return s.exit_code;
}

int cmd_rollback(Session& s, const Args& a) {
    const json body{{"to", a.to ? json(*a.to) : json(nullptr)}};
    auto doc = s.request("POST", stack_path(a.stack, "rollback"), body, k_wait_timeout);
    if (!doc) {
        return s.exit_code;
    }
    s.print(*doc, [&](const json& d) { return render_cycle(a.stack, d); });
    return exit_code_for_outcome(doc->value("outcome", ""));
}

int cmd_pause(Session& s, const Args& a, bool pause) {
    if (auto doc = s.request("POST", stack_path(a.stack, pause ? "pause" : "resume"))) {
        s.print(*doc, [&](const json&) {
            return fmt::format("{}: {}\n", a.stack,
                               pause ? "paused" : "resumed (automatic deployments on)");
        });
    }
    return s.exit_code;
}

/// Holds STACK at DEPLOYMENT's release, deploying it first (gated) when it is not what runs.
int cmd_pin(Session& s, const Args& a) {
    auto doc = s.request("POST", stack_path(a.stack, "pin"), json{{"deployment", a.deployment}},
                         k_wait_timeout);
    if (!doc) {
        return s.exit_code;
    }
    s.print(*doc, [&](const json& d) { return render_cycle(a.stack, d); });
    return exit_code_for_outcome(doc->value("outcome", ""));
}

int cmd_unpin(Session& s, const Args& a) {
    if (auto doc = s.request("POST", stack_path(a.stack, "unpin"))) {
        s.print(*doc, [&](const json& d) {
            return fmt::format("{}: unpinned{}\n", a.stack,
                               d.value("paused", false)
                                   ? " (still paused: `agentctl resume` turns automatic "
                                     "deployments on)"
                                   : " (automatic deployments on)");
        });
    }
    return s.exit_code;
}

/// Deploys the release of STACK that waits for approval (exactly DEPLOYMENT's when given),
/// waiting for the outcome.
int cmd_approve(Session& s, const Args& a) {
    const json body{{"deployment", a.deployment > 0 ? json(a.deployment) : json(nullptr)}};
    auto doc = s.request("POST", stack_path(a.stack, "approve"), body, k_wait_timeout);
    if (!doc) {
        return s.exit_code;
    }
    s.print(*doc, [&](const json& d) { return render_cycle(a.stack, d); });
    return exit_code_for_outcome(doc->value("outcome", ""));
}

/// Forgets the stack's bad releases and runs a cycle at once (trigger `retry`), waiting for it.
int cmd_retry(Session& s, const Args& a) {
    auto doc = s.request("POST", stack_path(a.stack, "retry"), json::object(), k_wait_timeout);
    if (!doc) {
        return s.exit_code;
    }
    s.print(*doc, [&](const json& d) { return render_cycle(a.stack, d); });
    return exit_code_for_outcome(doc->value("outcome", ""));
}

/// What the next deployment of STACK would change, from what its last poll observed.
int cmd_diff(Session& s, const Args& a) {
    if (auto doc = s.request("GET", stack_path(a.stack, "diff"))) {
        s.print(*doc, [](const json& d) { return render_diff(d); });
    }
    return s.exit_code;
}

int cmd_reload(Session& s) {
    if (auto doc = s.request("POST", "/v1/reload")) {
        s.print(*doc, [](const json& d) {
            return fmt::format("configuration reloaded: {} stacks\n", d.value("stacks", 0));
        });
    }
    return s.exit_code;
}

/// The fleet's rollout state as etcd has it now (asks agentd, which asks etcd).
int cmd_fleet_status(Session& s, const Args& a) {
    const auto path =
        a.stack.empty() ? std::string("/v1/fleet") : "/v1/fleet?stack=" + sys::url_encode(a.stack);
    if (auto doc = s.request("GET", path)) {
        s.print(*doc, [&](const json& d) { return render_fleet(d, s.now()); });
    }
    return s.exit_code;
}

std::string fleet_path(const std::string& stack, const std::string& action) {
    return fmt::format("/v1/fleet/stacks/{}/{}", sys::url_encode(stack), action);
}

int cmd_fleet_unhalt(Session& s, const Args& a) {
    if (auto doc = s.request("POST", fleet_path(a.stack, "unhalt"))) {
        s.print(*doc, [&](const json& d) {
            const auto halt = d.value("halt", json::object());
            return fmt::format(
                "{}: halt cleared (release {} had failed on {}); hosts start it in their turn\n",
                a.stack, fleet_release_label(halt), halt.value("host", "?"));
        });
    }
    return s.exit_code;
}

int cmd_fleet_release(Session& s, const Args& a) {
    if (auto doc = s.request("POST", fleet_path(a.stack, "release"), json{{"host", a.host}})) {
        s.print(*doc, [&](const json& d) {
            const auto held = d.value("released", json::object());
            return fmt::format("{}: {}'s place freed (it was queued for release {})\n", a.stack,
                               a.host, fleet_release_label(held));
        });
    }
    return s.exit_code;
}

/// Offline: the daemon is not asked.
int cmd_config_check(CtlContext& c, const Args& a) {
    try {
        const auto config = config::load_config(a.config_file);
        c.out << fmt::format("config OK: {} stacks\n", config.stacks.size());
        return k_exit_ok;
    } catch (const config::ConfigError& e) {
        for (const auto& issue : e.issues()) {
            c.err << issue.to_string() << "\n";
        }
        return k_exit_usage;
    }
}

/// The tag policy of --semver RANGE or --regex RE [--order O]; nullopt when neither is given.
/// Errors name the option.
sys::Result<std::optional<policy::TagPolicy>> policy_from_args(const Args& a) {
    using Policy = std::optional<policy::TagPolicy>;
    if (!a.semver.empty() && !a.regex.empty()) {
        return sys::Error::invalid("give one of --semver RANGE and --regex RE, not both");
    }
    if (!a.order.empty() && a.regex.empty()) {
        return sys::Error::invalid("--order applies to --regex only");
    }
    if (!a.semver.empty()) {
        auto p = policy::TagPolicy::semver(a.semver);
        if (!p) {
            return sys::Error::invalid("--semver: " + p.error().message);
        }
        return Policy(std::move(*p));
    }
    if (!a.regex.empty()) {
        auto order = policy::parse_regex_order(a.order.empty() ? "alphabetical" : a.order);
        if (!order) {
            return sys::Error::invalid("--order: " + order.error().message);
        }
        auto p = policy::TagPolicy::regex(a.regex, *order);
        if (!p) {
            return sys::Error::invalid("--regex: " + p.error().message);
        }
        return Policy(std::move(*p));
    }
    return Policy();
}

/// Exit code of a listing: with a policy, 1 when no tag matches (as `policy test`).
int listing_exit_code(const json& doc) {
    return doc.contains("matches") && !doc.value("selected", json()).is_string() ? k_exit_failed
                                                                                 : k_exit_ok;
}

/// Offline: which of the given tags a policy accepts, and which one it would run.
int cmd_policy_test(CtlContext& c, const Args& a) {
    auto policy = policy_from_args(a);
    if (!policy) {
        c.err << "agentctl policy test: " << policy.error().message << "\n";
        return k_exit_usage;
    }
    if (!*policy) {
        c.err << "agentctl policy test: give exactly one of --semver RANGE and --regex RE\n";
        return k_exit_usage;
    }
    const auto selection = (*policy)->select(a.tags, std::nullopt, /*no_downgrade=*/false);
    const json doc =
        model::to_json(model::TagListing{a.tags, selection.matches, selection.selected});
    c.out << (a.json ? doc.dump(2) + "\n" : render_tags(doc, (*policy)->describe()));
    return listing_exit_code(doc);
}

/// Online: the registry's tags of IMAGE as agentd sees them (its credentials), and what a
/// policy selects among them. The policy is checked here first, so a typo needs no daemon.
int cmd_tags(CtlContext& c, const Args& a) {
    auto policy = policy_from_args(a);
    if (!policy) {
        c.err << "agentctl tags: " << policy.error().message << "\n";
        return k_exit_usage;
    }
    std::string query = "?image=" + sys::url_encode(a.image);
    const std::pair<const char*, const std::string&> options[] = {
        {"semver", a.semver}, {"regex", a.regex}, {"order", a.order}};
    for (const auto& [key, value] : options) {
        if (!value.empty()) {
            query += fmt::format("&{}={}", key, sys::url_encode(value));
        }
    }
    Session s(c, a);
    auto doc = s.request("GET", "/v1/tags" + query, json::object(), k_registry_timeout);
    if (!doc) {
        return s.exit_code;
    }
    s.print(*doc, [&](const json& d) {
        return render_tags(d, *policy ? (*policy)->describe() : std::string());
    });
    return listing_exit_code(*doc);
}

/// The body of POST /v1/verify from --key FILE... or --identity G --issuer U [--trusted-root F];
/// an error is a usage error naming the options. Relative files are made absolute here: agentd
/// reads them from its own working directory.
sys::Result<json> verify_body(const Args& a) {
    const bool keyless = !a.identity.empty() || !a.issuer.empty();
    if (!a.keys.empty() && keyless) {
        return sys::Error::invalid("give --key FILE or --identity and --issuer, not both");
    }
    if (keyless && (a.identity.empty() || a.issuer.empty())) {
        return sys::Error::invalid(a.identity.empty() ? "--issuer needs --identity"
                                                      : "--identity needs --issuer");
    }
    if (a.keys.empty() && !keyless) {
        return sys::Error::invalid(
            "give the signatures to check: --key FILE (a public key), or --identity and --issuer "
            "(keyless)");
    }
    if (!keyless && !a.trusted_root.empty()) {
        return sys::Error::invalid("--trusted-root is for keyless signatures (--identity, --issuer)");
    }
    if (auto image = sources::ImageRef::parse(a.image); !image) {
        return sys::Error::invalid(image.error().message);
    }
    const auto absolute = [](const std::string& file) {
        std::error_code ec;
        auto path = std::filesystem::absolute(file, ec);
        return ec ? file : path.lexically_normal().string();
    };
    json body{{"image", a.image}};
    if (keyless) {
        body["identity"] = a.identity;
        body["issuer"] = a.issuer;
        if (!a.trusted_root.empty()) {
            body["trusted_root"] = absolute(a.trusted_root);
        }
        return body;
    }
    json keys = json::array();
    for (const auto& key : a.keys) {
        keys.push_back(absolute(key));
    }
    body["key"] = keys;
    return body;
}

/// Online: does IMAGE carry the signatures asked for, as agentd's verify step checks them (its
/// registry credentials, its verifier)? 0 verified, 1 not verified or not decidable.
int cmd_verify(CtlContext& c, const Args& a) {
    auto body = verify_body(a);
    if (!body) {
        c.err << "agentctl verify: " << body.error().message << "\n";
        return k_exit_usage;
    }
    Session s(c, a);
    auto doc = s.request("POST", "/v1/verify", *body, k_registry_timeout);
    if (!doc) {
        return s.exit_code;
    }
    s.print(*doc, [](const json& d) { return render_verify(d); });
    return doc->value("verified", false) ? k_exit_ok : k_exit_failed;
}

}  // namespace

int exit_code_for_outcome(const std::string& outcome) {
    if (outcome == "rolled_back" || outcome == "failed" || outcome == "rejected" ||
        outcome == "poll_error" || outcome == "interrupted") {
        return k_exit_failed;
    }
    return k_exit_ok;
}

int exit_code_for_status(long status) {
    if (status == 400 || status == 404 || status == 405) {
        return k_exit_usage;
    }
    return k_exit_failed;
}

int run_agentctl(const std::vector<std::string>& args, CtlContext& context) {
    Args a;
    CLI::App app{"agentctl: watch and steer agentd, the GitOps agent for compose hosts"};
    app.set_version_flag("--version", std::string("agentctl ") + sys::k_version);
    app.require_subcommand(1);
    app.add_option(
        "--socket", a.socket,
        "agentd's API socket (default $AGENTD_SOCKET, then " + std::string(k_default_socket) + ")");
    app.add_flag("--json", a.json,
                 "print the daemon's JSON document (JSON lines for watch and a waited sync)");

    auto* status = app.add_subcommand("status", "state, current release and last poll per stack");
    status->add_option("STACK", a.stack, "only this stack");
    auto* history = app.add_subcommand("history", "deployments, newest first");
    history->add_option("STACK", a.stack, "only this stack");
    history->add_option("--limit", a.limit, "how many (default 20)")->check(CLI::Range(1, 1000));
    auto* show = app.add_subcommand("show", "one deployment with its events");
    show->add_option("DEPLOYMENT", a.deployment, "deployment id")
        ->required()
        ->check(CLI::PositiveNumber);
    auto* sync = app.add_subcommand("sync", "poll now (every stack without STACK)");
    sync->add_option("STACK", a.stack, "only this stack");
    sync->add_flag("--wait", a.wait,
                   "wait for the cycle and print its outcome (with STACK, its progress too: on a "
                   "terminal, or as JSON lines)");
    auto* watch = app.add_subcommand(
        "watch", "follow deployments live: phases, image pulls, health gate samples (until Ctrl-C)");
    watch->add_option("STACK", a.stack, "only this stack");
    auto* rollback =
        app.add_subcommand("rollback", "restore the previous (or given) release; pins the stack");
    rollback->add_option("STACK", a.stack, "the stack")->required();
    rollback->add_option("--to", a.to, "deployment to restore")->check(CLI::PositiveNumber);
    auto* pin = app.add_subcommand(
        "pin", "hold a stack at a deployment's release (deployed first, gated, if not running)");
    pin->add_option("STACK", a.stack, "the stack")->required();
    pin->add_option("DEPLOYMENT", a.deployment, "a deployment of the stack that succeeded")
        ->required()
        ->check(CLI::PositiveNumber);
    auto* unpin = app.add_subcommand("unpin", "let a pinned stack deploy new releases again");
    unpin->add_option("STACK", a.stack, "the stack")->required();
    auto* approve = app.add_subcommand(
        "approve", "deploy the release waiting for approval (approval: manual; waits for the "
                   "outcome)");
    approve->add_option("STACK", a.stack, "the stack")->required();
    approve->add_option("DEPLOYMENT", a.deployment,
                        "only this waiting deployment: refused if a newer candidate replaced it")
        ->check(CLI::PositiveNumber);
    auto* retry = app.add_subcommand(
        "retry", "forget the stack's releases marked bad and poll now (waits for the outcome)");
    retry->add_option("STACK", a.stack, "the stack")->required();
    auto* diff = app.add_subcommand(
        "diff", "what the next deployment would change: commits, images, compose files");
    diff->add_option("STACK", a.stack, "the stack")->required();
    auto* pause = app.add_subcommand("pause", "stop automatic deployments of a stack");
    pause->add_option("STACK", a.stack, "the stack")->required();
    auto* resume = app.add_subcommand("resume", "restart automatic deployments (and unpin)");
    resume->add_option("STACK", a.stack, "the stack")->required();
    auto* reload = app.add_subcommand("reload", "make agentd re-read its configuration file");
    auto* config = app.add_subcommand("config", "configuration files");
    config->require_subcommand(1);
    auto* check = config->add_subcommand("check", "validate a configuration file (offline)");
    check->add_option("FILE", a.config_file, "default /etc/agentd/agent.yaml");
    auto* policy = app.add_subcommand("policy", "tag policies");
    policy->require_subcommand(1);
    auto* policy_test =
        policy->add_subcommand("test", "which tags a policy matches and which wins (offline)");
    policy_test->add_option("--semver", a.semver, "a semver range, e.g. \"^1.2\"");
    policy_test->add_option("--regex", a.regex,
                            "a regular expression with an optional named group");
    policy_test->add_option("--order", a.order, "for --regex: alphabetical (default) or numerical");
    policy_test->add_option("TAG", a.tags, "tags to try")->required();
    auto* tags = app.add_subcommand(
        "tags", "an image's tags in its registry and the one a policy selects (asks agentd)");
    tags->add_option("IMAGE", a.image, "image name, e.g. ghcr.io/acme/web")->required();
    tags->add_option("--semver", a.semver, "a semver range, e.g. \"^1.2\"");
    tags->add_option("--regex", a.regex, "a regular expression with an optional named group");
    tags->add_option("--order", a.order, "for --regex: alphabetical (default) or numerical");
    auto* verify = app.add_subcommand(
        "verify",
        "check an image's cosign signatures as agentd's verify step does (asks agentd); "
        "exit 0 verified, 1 not");
    verify->add_option("IMAGE", a.image, "IMAGE[:TAG|@DIGEST], e.g. ghcr.io/acme/web:2.4.0")
        ->required();
    verify->add_option("--key", a.keys, "a PEM public key file; repeat for any of several keys")
        ->allow_extra_args(false);
    verify->add_option("--identity", a.identity,
                       "keyless: the signer's certificate identity (exact, glob, or regex:...)");
    verify->add_option("--issuer", a.issuer,
                       "keyless: the identity's OIDC issuer (exact, glob, or regex:...)");
    verify->add_option("--trusted-root", a.trusted_root,
                       "keyless: a Sigstore trusted_root.json (default: the public-good one "
                       "agentd ships)");
    auto* fleet =
        app.add_subcommand("fleet", "the fleet's rollouts, coordinated through etcd (fleet:)");
    fleet->require_subcommand(1);
    auto* fleet_status = fleet->add_subcommand(
        "status", "per stack: hosts updating and queued, a halt and its reason, hosts done");
    fleet_status->add_option("STACK", a.stack, "only this stack");
    auto* fleet_unhalt = fleet->add_subcommand(
        "unhalt", "clear a stack's halt: hosts start the halted release again in their turn");
    fleet_unhalt->add_option("STACK", a.stack, "the stack")->required();
    auto* fleet_release = fleet->add_subcommand(
        "release", "free a dead host's slot (or place in the queue) now, before its lease ends");
    fleet_release->add_option("HOST", a.host, "the host's name in the fleet")->required();
    fleet_release->add_option("STACK", a.stack, "the stack")->required();

    std::vector<std::string> argv_storage{"agentctl"};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_storage) {
        argv.push_back(s.data());
    }
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, context.out, context.err);
        return code == 0 ? k_exit_ok : k_exit_usage;
    }

    if (a.socket.empty()) {
        a.socket = context.env_socket.value_or(k_default_socket);
    }
    if (*check) {
        return cmd_config_check(context, a);
    }
    if (*policy_test) {
        return cmd_policy_test(context, a);
    }
    if (*tags) {
        return cmd_tags(context, a);
    }
    if (*verify) {
        return cmd_verify(context, a);
    }
    Session session(context, a);
    if (*status) {
        return cmd_status(session, a);
    }
    if (*history) {
        return cmd_history(session, a);
    }
    if (*show) {
        return cmd_show(session, a);
    }
    if (*sync) {
        return cmd_sync(session, a);
    }
    if (*watch) {
        return cmd_watch(session, a);
    }
    if (*rollback) {
        return cmd_rollback(session, a);
    }
    if (*pin) {
        return cmd_pin(session, a);
    }
    if (*unpin) {
        return cmd_unpin(session, a);
    }
    if (*approve) {
        return cmd_approve(session, a);
    }
    if (*retry) {
        return cmd_retry(session, a);
    }
    if (*diff) {
        return cmd_diff(session, a);
    }
    if (*pause || *resume) {
        return cmd_pause(session, a, pause->parsed());
    }
    if (*reload) {
        return cmd_reload(session);
    }
    if (*fleet_status) {
        return cmd_fleet_status(session, a);
    }
    if (*fleet_unhalt) {
        return cmd_fleet_unhalt(session, a);
    }
    if (*fleet_release) {
        return cmd_fleet_release(session, a);
    }
    context.err << app.help();
    return k_exit_usage;
}

int run_agentctl(int argc, char** argv) {
    std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
    sys::CurlHttpClient http;
    sys::CurlHttpClient stream_http;  // live progress, followed while `http` waits for a cycle
    sys::SystemClock clock;
    std::optional<std::string> env_socket;
    if (const char* s = std::getenv("AGENTD_SOCKET"); s != nullptr && *s != '\0') {
        env_socket = s;
    }
    CtlContext context{std::cout, std::cerr, http, clock, env_socket, &stream_http,
                       ::isatty(STDOUT_FILENO) == 1};
    return run_agentctl(args, context);
}

}  // namespace agentd::ctl
