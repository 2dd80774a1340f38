#include "agent/ctl/render.h"

#include <catch2/catch.hpp>

#include "agent/daemon/api_routes.h"
#include "agent/model/json.h"
#include "tests/unit/daemon/fake_backend.h"

namespace unit_ctl_render_test {

using namespace agentd;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const model::Deployment k_sample = daemon::testing::sample_deployment(7, "shop");

}  // namespace

TEST_CASE("render: status shows release, times, last poll and notes", "[ctl]") {
    daemon::StackStatus running;
    running.name = "shop";
    running.state = "running";
    running.current = k_sample;
    running.current->release.tag = "v2.3.1";
    running.stack_state.last_poll = {k_sample.started_at + 100s, "ok", ""};
    daemon::StackStatus broken;
    broken.name = "blog";
    broken.state = "paused";
    broken.stack_state.paused = true;
    broken.stack_state.pinned = 4;
    broken.stack_state.last_poll = {k_sample.started_at + 160s, "error", "registry: 503"};
    const json doc{{"stacks", {daemon::to_json(running), daemon::to_json(broken)}}};
    const auto now = k_sample.started_at + 162s;
    const std::string out = ctl::render_status(doc, now);
    REQUIRE(
        out ==
        "STACK  STATE    RELEASE                DEPLOYED  LAST POLL                      NOTES\n"
        "shop   running  v2.3.1 (0123456789ab)  2m ago    ok 1m ago\n"
        "blog   paused   -                      -         error just now: registry: 503  "
        "PAUSED, PINNED at 4\n");
}

TEST_CASE("render: status says which release waits for which image, since and until when",
          "[ctl]") {
    daemon::StackStatus shop;
    shop.name = "shop";
    shop.state = "running";
    shop.current = k_sample;
    shop.stack_state.last_poll = {k_sample.started_at + 100s, "ok", ""};
    shop.stack_state.candidate =
        "v1.2.0 waits for images: web: tag 1.2.0 not found in 127.0.0.1:5000/shop/web";
    shop.waiting = daemon::WaitingRelease{8, "images", k_sample.started_at + 40s,
                                          k_sample.started_at + 1840s};
    const json entry = daemon::to_json(shop);
    CHECK(entry["waiting"] == json::parse(R"({"deployment": 8, "reason": "images",
                                              "since": "2023-11-14T22:14:00.000Z",
                                              "until": "2023-11-14T22:44:00.000Z"})"));
    const json doc{{"stacks", {entry}}};
    const std::string notes =
        "next: v1.2.0 waits for images: web: tag 1.2.0 not found in 127.0.0.1:5000/shop/web "
        "(since 2m ago, rejected in 28m if still missing)\n";
    const std::string out = ctl::render_status(doc, k_sample.started_at + 160s);
    CHECK(out.size() > notes.size());
    CHECK(out.substr(out.size() - notes.size()) == notes);
    const std::string late = ctl::render_status(doc, k_sample.started_at + 2000s);
    CHECK(late.find("rejected at the next poll if still missing") != std::string::npos);
    // Without a waiting deployment the candidate is shown alone.
    shop.waiting.reset();
    CHECK(daemon::to_json(shop)["waiting"].is_null());
}

TEST_CASE("render: status says which release waits for approval, and since when",
          "[ctl][approval]") {
    daemon::StackStatus shop;
    shop.name = "shop";
    shop.state = "running";
    shop.current = k_sample;
    shop.stack_state.last_poll = {k_sample.started_at + 100s, "ok", ""};
    shop.stack_state.candidate = "v1.3.0 waits for approval (`agentctl approve shop 9`)";
    shop.waiting = daemon::WaitingRelease{9, "approval", k_sample.started_at + 40s, std::nullopt};
    const json entry = daemon::to_json(shop);
    CHECK(entry["waiting"] == json::parse(R"({"deployment": 9, "reason": "approval",
                                              "since": "2023-11-14T22:14:00.000Z",
                                              "until": null})"));
    const std::string notes =
        "next: v1.3.0 waits for approval (`agentctl approve shop 9`) (since 2m ago)\n";
    const std::string out = ctl::render_status(json{{"stacks", {entry}}},
                                               k_sample.started_at + 160s);
    CHECK(out.substr(out.size() - notes.size()) == notes);
}

TEST_CASE("render: status shows drift and how many kept releases restore offline",
          "[ctl][drift][retention]") {
    daemon::StackStatus shop;
    shop.name = "shop";
    shop.state = "drifted";
    shop.current = k_sample;
    shop.stack_state.last_poll = {k_sample.started_at + 100s, "ok", "", "", "web: no container"};
    shop.stack_state.kept_releases = 3;
    shop.stack_state.offline_releases = 2;
    const json entry = daemon::to_json(shop);
    CHECK(entry["state"] == "drifted");
    CHECK(entry["drift"] == "web: no container");
    CHECK(entry["releases"] == json::parse(R"({"kept": 3, "offline": 2})"));
    const std::string notes = "DRIFT: web: no container, 2 of 3 kept releases restorable offline\n";
    const std::string out =
        ctl::render_status(json{{"stacks", {entry}}}, k_sample.started_at + 160s);
    CHECK(out.substr(out.size() - notes.size()) == notes);
}

TEST_CASE("render: status shows which slot serves and what the other one holds",
          "[ctl][blue_green]") {
    daemon::StackStatus shop;
    shop.name = "shop";
    shop.state = "running";
    shop.current = k_sample;
    shop.stack_state.slots = model::Slots{"green", 12, 11, k_sample.started_at + 700s};
    json entry = daemon::to_json(shop);
    const json expected{{"active", "green"},
                        {"active_deployment", 12},
                        {"idle", "blue"},
                        {"idle_deployment", 11},
                        {"idle_stops_at", "2023-11-14T22:25:00.000Z"}};
    CHECK(entry["slots"] == expected);
    auto out = ctl::render_status(json{{"stacks", {entry}}}, k_sample.started_at + 160s);
    CHECK(out.find("slot green serves 12; blue holds 11 (running, stops in 9m)") !=
          std::string::npos);
    // stopped once keep_old_for was over
    shop.stack_state.slots->idle_stops_at.reset();
    out = ctl::render_status(json{{"stacks", {daemon::to_json(shop)}}}, k_sample.started_at + 160s);
    CHECK(out.find("slot green serves 12; blue holds 11 (stopped)") != std::string::npos);
    // the first release: nothing idle
    shop.stack_state.slots = model::Slots{"blue", 1, std::nullopt, std::nullopt};
    entry = daemon::to_json(shop);
    CHECK(entry["slots"]["idle_deployment"].is_null());
    out = ctl::render_status(json{{"stacks", {entry}}}, k_sample.started_at + 160s);
    CHECK(out.find("slot blue serves 1") != std::string::npos);
    CHECK(out.find("holds") == std::string::npos);
    // a recreate stack
    shop.stack_state.slots.reset();
    CHECK(daemon::to_json(shop)["slots"].is_null());
}

TEST_CASE("render: status says when the last poll saw a revision that changed nothing here",
          "[ctl]") {
    daemon::StackStatus blog;
    blog.name = "blog";
    blog.state = "running";
    blog.current = k_sample;
    const std::string seen = "fedcba9876543210fedcba9876543210fedcba98";
    blog.stack_state.last_poll = {k_sample.started_at + 100s, "ok", "", seen};
    const json entry = daemon::to_json(blog);
    CHECK(entry["last_poll"]["revision"] == seen);
    const auto out = ctl::render_status(json{{"stacks", {entry}}}, k_sample.started_at + 160s);
    CHECK(out.find("seen fedcba987654: no change to this stack") != std::string::npos);
    // the poll saw the release that runs: nothing to say
    blog.stack_state.last_poll.revision = k_sample.release.revision;
    CHECK(ctl::render_status(json{{"stacks", {daemon::to_json(blog)}}}, k_sample.started_at + 160s)
              .find("seen") == std::string::npos);
    // a pending candidate is what the notes show
    blog.stack_state.last_poll.revision = seen;
    blog.stack_state.candidate = "v2 waits for images: web";
    CHECK(ctl::render_status(json{{"stacks", {daemon::to_json(blog)}}}, k_sample.started_at + 160s)
              .find("seen") == std::string::npos);
}

TEST_CASE("render: tags one per line without a policy, a match table with one", "[ctl]") {
    CHECK(ctl::render_tags(json::parse(R"({"tags": ["1.0.0", "latest"]})"), "") ==
          "1.0.0\nlatest\n");
    const json doc = model::to_json(model::TagListing{
        {"1.0.0", "1.1.0", "latest"}, std::vector<std::string>{"1.1.0", "1.0.0"}, "1.1.0"});
    CHECK(ctl::render_tags(doc, "semver \"^1\"") ==
          "TAG     MATCH\n"
          "1.0.0   yes\n"
          "1.1.0   selected\n"
          "latest  no\n"
          "selected: 1.1.0\n");
    const json none =
        model::to_json(model::TagListing{{"latest"}, std::vector<std::string>{}, std::nullopt});
    CHECK(none == json::parse(R"({"tags": ["latest"], "matches": [], "selected": null})"));
    CHECK(ctl::render_tags(none, "semver \"^1\"") ==
          "TAG     MATCH\nlatest  no\nno tag matches semver \"^1\"\n");
}

TEST_CASE("render: history rows with duration and reason", "[ctl]") {
    const json doc{{"deployments", {model::to_json(k_sample)}}};
    const std::string out = ctl::render_history(doc, k_sample.started_at + 3600s);
    REQUIRE(out.find("ID  STACK  STATUS     RELEASE       TRIGGER  STARTED  TOOK  REASON") == 0);
    REQUIRE(out.find("7   shop   succeeded  0123456789ab  poll     1h ago   42s   healthy") !=
            std::string::npos);
}

TEST_CASE("render: show prints fields, images and the events timeline", "[ctl]") {
    const std::string out =
        ctl::render_deployment(model::to_json(k_sample, true), k_sample.started_at + 60s);
    REQUIRE(out.find("deployment 7 of stack shop\n") == 0);
    REQUIRE(out.find("status:    succeeded") != std::string::npos);
    REQUIRE(out.find("revision:  0123456789abcdef0123456789abcdef01234567") != std::string::npos);
    REQUIRE(out.find("(took 42s)") != std::string::npos);
    REQUIRE(out.find("  web  ghcr.io/acme/web:2.3.1@sha256:aaaabbbbcccc\n") != std::string::npos);
    REQUIRE(out.find("apply  compose up") != std::string::npos);
    REQUIRE(out.find("reason:    healthy") != std::string::npos);
}

TEST_CASE("render: a cycle result is one line", "[ctl]") {
    REQUIRE(ctl::render_cycle("shop", json{{"outcome", "rolled_back"},
                                           {"deployment", 9},
                                           {"message", "web: unhealthy"}}) ==
            "shop: rolled_back, deployment 9: web: unhealthy\n");
    REQUIRE(ctl::render_cycle("shop", json{{"outcome", "noop"}, {"deployment", nullptr}}) ==
            "shop: noop\n");
}

TEST_CASE("render: verify names the image, digest, verdict and what verified it or why not",
          "[ctl]") {
    const std::string digest = "sha256:" + std::string(64, 'a');
    json doc{{"image", "ghcr.io/acme/web:2.4.0"},
             {"digest", digest},
             {"verified", true},
             {"message", "ghcr.io/acme/web@" + digest +
                             ": cosign signature ghcr.io/acme/web:sha256-aaa.sig verified with "
                             "key /etc/agentd/cosign.pub (ECDSA P-256)"},
             {"keys", {{{"file", "/etc/agentd/cosign.pub"}, {"algorithm", "ECDSA P-256"}}}},
             {"identity", nullptr},
             {"issuer", nullptr}};
    CHECK(ctl::render_verify(doc) ==
          "image:    ghcr.io/acme/web:2.4.0\n"
          "digest:   " +
              digest +
              "\n"
              "verdict:  verified\n"
              "by:       cosign signature ghcr.io/acme/web:sha256-aaa.sig verified with key "
              "/etc/agentd/cosign.pub (ECDSA P-256)\n"
              "keys:     /etc/agentd/cosign.pub (ECDSA P-256)\n");

    doc["verified"] = false;
    doc["message"] =
        "image ghcr.io/acme/web@" + digest + ": cosign verification failed: not signed";
    doc["keys"].push_back(json{{"file", "/etc/agentd/old.pub"}, {"algorithm", "Ed25519"}});
    CHECK(ctl::render_verify(doc) ==
          "image:    ghcr.io/acme/web:2.4.0\n"
          "digest:   " +
              digest +
              "\n"
              "verdict:  NOT verified\n"
              "why:      cosign verification failed: not signed\n"
              "keys:     /etc/agentd/cosign.pub (ECDSA P-256), /etc/agentd/old.pub (Ed25519)\n");

    const json keyless{{"image", "web:1"},      {"digest", digest},
                       {"verified", false},     {"message", "no"},
                       {"keys", json::array()}, {"identity", "ci@acme.example"},
                       {"issuer", "https://x"}, {"trusted_root", "/r.json"}};
    const std::string out = ctl::render_verify(keyless);
    CHECK(out.find("identity:      ci@acme.example\n") != std::string::npos);
    CHECK(out.find("issuer:        https://x\n") != std::string::npos);
    CHECK(out.find("trusted root:  /r.json\n") != std::string::npos);
    CHECK(out.find("keys:") == std::string::npos);
    // A message without the pinned prefix is shown whole.
    CHECK(out.find("why:           no\n") != std::string::npos);
}

}  // namespace unit_ctl_render_test
