#include "agent/ctl/commands.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/daemon/api_server.h"
#include "tests/unit/daemon/fake_backend.h"
#include "tests/unit/daemon/fake_clock.h"
#include "tests/unit/openssl_signer.h"

namespace unit_ctl_commands_test {

using namespace agentd;
namespace fs = std::filesystem;

namespace {

struct Sandbox {
    fs::path dir;
    daemon::testing::FakeBackend backend;
    daemon::ApiServer server{backend};
    sys::CurlHttpClient http;
    sys::CurlHttpClient stream_http;
    bool terminal = false;  // agentctl's output is a terminal
    bool follow = false;    // hand agentctl the second client live progress is followed with
    daemon::testing::FakeClock clock;
    std::ostringstream out;
    std::ostringstream err;

    Sandbox() {
        static int n = 0;
        dir = fs::temp_directory_path() /
              ("agentctl-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        fs::create_directories(dir);
        backend.deployments.push_back(daemon::testing::sample_deployment(7, "shop"));
    }
    ~Sandbox() {
        server.stop();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path socket() const { return dir / "api.sock"; }
    void serve() { REQUIRE(server.start(socket()).ok()); }
    int run(std::vector<std::string> args) {
        out.str("");
        err.str("");
        ctl::CtlContext context{
            out, err, http, clock, socket().string(), follow ? &stream_http : nullptr, terminal};
        return ctl::run_agentctl(args, context);
    }
};

}  // namespace

TEST_CASE("agentctl: exit codes follow outcomes and API statuses", "[ctl]") {
    REQUIRE(ctl::exit_code_for_outcome("succeeded") == 0);
    REQUIRE(ctl::exit_code_for_outcome("noop") == 0);
    for (const char* failed : {"rolled_back", "failed", "rejected", "poll_error"}) {
        REQUIRE(ctl::exit_code_for_outcome(failed) == 1);
    }
    REQUIRE(ctl::exit_code_for_status(404) == 2);
    REQUIRE(ctl::exit_code_for_status(400) == 2);
    REQUIRE(ctl::exit_code_for_status(409) == 1);
    REQUIRE(ctl::exit_code_for_status(500) == 1);
}

TEST_CASE("agentctl: an absent agentd exits 3 and says where it looked", "[ctl]") {
    Sandbox s;
    REQUIRE(s.run({"status"}) == 3);
    REQUIRE(s.err.str().rfind("agentctl: cannot reach agentd at " + s.socket().string() + ": ",
                              0) == 0);
    REQUIRE(s.err.str().find("(is agentd running?)") != std::string::npos);
    // --socket wins over $AGENTD_SOCKET.
    REQUIRE(s.run({"--socket", "/nonexistent/x.sock", "sync", "shop"}) == 3);
    REQUIRE(s.err.str().find("/nonexistent/x.sock") != std::string::npos);
}

TEST_CASE("agentctl: usage errors exit 2, help exits 0", "[ctl]") {
    Sandbox s;
    REQUIRE(s.run({}) == 2);
    REQUIRE(s.run({"frobnicate"}) == 2);
    REQUIRE(s.run({"show", "abc"}) == 2);
    REQUIRE(s.run({"rollback"}) == 2);
    REQUIRE(s.run({"history", "--limit", "0"}) == 2);
    REQUIRE(s.run({"--help"}) == 0);
    REQUIRE(s.out.str().find("rollback") != std::string::npos);
}

TEST_CASE("agentctl: config check is offline and exits 2 on errors", "[ctl]") {
    Sandbox s;
    const auto good = s.dir / "good.yaml";
    std::ofstream(good) << "state_dir: " << s.dir.string()
                        << "\nstacks:\n  - name: shop\n    dir: " << s.dir.string() << "\n";
    REQUIRE(s.run({"config", "check", good.string()}) == 0);
    REQUIRE(s.out.str() == "config OK: 1 stacks\n");
    const auto bad = s.dir / "bad.yaml";
    std::ofstream(bad) << "state_dir: " << s.dir.string() << "\nbad_key: 1\n";
    REQUIRE(s.run({"config", "check", bad.string()}) == 2);
    REQUIRE(s.err.str().find("bad.yaml:") != std::string::npos);
    REQUIRE(s.run({"config", "check", (s.dir / "missing.yaml").string()}) == 2);
}

TEST_CASE("agentctl: status, history and show against the API", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"status"}) == 0);
    REQUIRE(s.out.str().find("STACK  STATE") == 0);
    REQUIRE(s.out.str().find("shop   running  0123456789ab") != std::string::npos);

    REQUIRE(s.run({"--json", "status", "shop"}) == 0);
    const auto doc = nlohmann::json::parse(s.out.str());
    REQUIRE(doc["stacks"].size() == 1);
    REQUIRE(doc["stacks"][0]["current"]["id"] == 7);

    REQUIRE(s.run({"history", "shop", "--limit", "5"}) == 0);
    REQUIRE(s.backend.last_limit == 5);
    REQUIRE(s.out.str().find("succeeded") != std::string::npos);

    REQUIRE(s.run({"show", "7"}) == 0);
    REQUIRE(s.out.str().find("deployment 7 of stack shop") == 0);
    REQUIRE(s.run({"show", "8"}) == 2);
    REQUIRE(s.err.str() == "agentctl: unknown deployment 8\n");
}

TEST_CASE("agentctl: unknown stack exits 2 with the daemon's message", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"pause", "nope"}) == 2);
    REQUIRE(s.err.str() == "agentctl: unknown stack \"nope\"\n");
}

TEST_CASE("agentctl: sync and rollback exit by outcome", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"sync", "shop", "--wait"}) == 0);
    REQUIRE(s.out.str() == "shop: succeeded, deployment 7: deployed\n");
    REQUIRE(s.run({"sync"}) == 0);  // every stack, queued
    REQUIRE(s.out.str() == "shop: sync queued\nblog: sync queued\n");
    s.backend.cycle = {deploy::Outcome::RolledBack, 8, "web: unhealthy"};
    REQUIRE(s.run({"rollback", "shop", "--to", "3"}) == 1);
    REQUIRE(s.backend.last_to == 3);
    REQUIRE(s.run({"--json", "sync", "--wait"}) == 1);
    const auto doc = nlohmann::json::parse(s.out.str());
    REQUIRE(doc["results"].size() == 2);
    REQUIRE(doc["results"][0]["outcome"] == "rolled_back");
    REQUIRE(s.run({"resume", "shop"}) == 0);
    REQUIRE(s.backend.calls.back() == "resume shop");
    REQUIRE(s.run({"reload"}) == 0);
    REQUIRE(s.out.str() == "configuration reloaded: 2 stacks\n");
}

TEST_CASE("agentctl: pin, unpin and retry exit as SPEC section 6 says", "[ctl]") {
    Sandbox s;
    s.serve();
    auto failed = daemon::testing::sample_deployment(9, "shop");
    failed.status = model::Status::RolledBack;
    s.backend.deployments.push_back(failed);
    s.backend.cycle = {deploy::Outcome::Succeeded, 12, "deployed; stack pinned at deployment 12"};
    REQUIRE(s.run({"pin", "shop", "7"}) == 0);
    REQUIRE(s.backend.calls.back() == "pin shop 7");
    REQUIRE(s.out.str() ==
            "shop: succeeded, deployment 12: deployed; stack pinned at deployment 12\n");
    // unknown deployment: 2; one that never passed the gate: 1; not a number: 2, not sent
    REQUIRE(s.run({"pin", "shop", "99"}) == 2);
    REQUIRE(s.err.str() == "agentctl: stack shop has no deployment 99\n");
    REQUIRE(s.run({"pin", "shop", "9"}) == 1);
    REQUIRE(s.err.str().find("rolled_back") != std::string::npos);
    const auto calls = s.backend.calls.size();
    REQUIRE(s.run({"pin", "shop", "latest"}) == 2);
    REQUIRE(s.run({"pin", "shop"}) == 2);
    REQUIRE(s.backend.calls.size() == calls);
    // a restore that failed its gate
    s.backend.cycle = {deploy::Outcome::RolledBack, 13, "web: unhealthy; not pinned"};
    REQUIRE(s.run({"--json", "pin", "shop", "7"}) == 1);
    REQUIRE(nlohmann::json::parse(s.out.str())["outcome"] == "rolled_back");

    REQUIRE(s.run({"unpin", "shop"}) == 0);
    REQUIRE(s.backend.calls.back() == "unpin shop");
    REQUIRE(s.out.str().find("shop: unpinned (still paused") == 0);
    REQUIRE(s.run({"unpin", "nope"}) == 2);

    s.backend.cycle = {deploy::Outcome::Succeeded, 14, "deployed"};
    REQUIRE(s.run({"retry", "shop"}) == 0);
    REQUIRE(s.backend.calls.back() == "retry shop");
    REQUIRE(s.out.str() == "shop: succeeded, deployment 14: deployed\n");
    s.backend.cycle = {deploy::Outcome::RolledBack, 15, "web: unhealthy"};
    REQUIRE(s.run({"retry", "shop"}) == 1);
    REQUIRE(s.run({"retry", "nope"}) == 2);
}

TEST_CASE("agentctl: approve deploys the waiting release, or exactly the one named",
          "[ctl][approval]") {
    Sandbox s;
    s.serve();
    s.backend.cycle = {deploy::Outcome::Succeeded, 12, "v1.3 approved and deployed"};
    REQUIRE(s.run({"approve", "shop"}) == 0);
    REQUIRE(s.backend.calls.back() == "approve shop");
    REQUIRE(s.backend.last_approved == std::nullopt);
    REQUIRE(s.out.str() == "shop: succeeded, deployment 12: v1.3 approved and deployed\n");
    REQUIRE(s.run({"approve", "shop", "12"}) == 0);
    REQUIRE(s.backend.last_approved == 12);
    // a newer candidate replaced it (409): 1, and the user reads why
    s.backend.stale_candidate = 11;
    REQUIRE(s.run({"approve", "shop", "11"}) == 1);
    REQUIRE(s.err.str() == "agentctl: a newer candidate waits for approval now\n");
    // the approved release failed its gate: 1
    s.backend.cycle = {deploy::Outcome::RolledBack, 13, "web: unhealthy"};
    REQUIRE(s.run({"--json", "approve", "shop"}) == 1);
    REQUIRE(nlohmann::json::parse(s.out.str())["outcome"] == "rolled_back");
    REQUIRE(s.run({"approve", "nope"}) == 2);
    const auto calls = s.backend.calls.size();
    REQUIRE(s.run({"approve"}) == 2);
    REQUIRE(s.run({"approve", "shop", "latest"}) == 2);
    REQUIRE(s.backend.calls.size() == calls);
}

TEST_CASE("agentctl: diff shows commits, images and the compose diff, or nothing to do", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"diff", "shop"}) == 0);
    CHECK(s.out.str() == "shop: nothing to deploy (runs nothing)\n");
    auto& d = s.backend.stack_diff;
    d.current = daemon::testing::sample_deployment(3, "shop");
    d.candidate = d.current->release;
    d.candidate->revision = std::string(40, 'b');
    d.candidate->images["web"] = "ghcr.io/acme/web:3@sha256:" + std::string(64, 'c');
    d.pending = true;
    d.commits = {{std::string(40, 'b'), "release 3"}};
    d.compose_diff = "--- a/shop/compose.yaml\n+++ b/shop/compose.yaml\n";
    d.services = deploy::compare_images(d.current->release.images, d.candidate->images);
    REQUIRE(s.run({"diff", "shop"}) == 0);
    const auto out = s.out.str();
    CHECK(out.find("shop: 0123456789ab -> bbbbbbbbbbbb\n") == 0);
    CHECK(out.find("  bbbbbbbbbbbb release 3\n") != std::string::npos);
    CHECK(out.find("ghcr.io/acme/web:2.3.1 sha256:aaaabbbbccc") != std::string::npos);
    CHECK(out.find("ghcr.io/acme/web:3 sha256:cccccccccccc") != std::string::npos);
    CHECK(out.find("compose files:\n--- a/shop/compose.yaml\n") != std::string::npos);
    REQUIRE(s.run({"--json", "diff", "shop"}) == 0);
    CHECK(nlohmann::json::parse(s.out.str())["commits"][0]["subject"] == "release 3");
    REQUIRE(s.run({"diff", "nope"}) == 2);
    REQUIRE(s.run({"diff"}) == 2);
}

TEST_CASE("agentctl: fleet status, unhalt and release", "[ctl][fleet]") {
    Sandbox s;
    s.serve();
    // Without fleet: agentd says so, exit 1.
    CHECK(s.run({"fleet", "status"}) == 1);
    CHECK(s.err.str() ==
          "agentctl: this agentd is not in a fleet (its configuration has no fleet: section)\n");

    s.backend.fleet_admin = std::make_unique<daemon::testing::FakeBackend::FakeAdmin>();
    auto& group = s.backend.fleet_admin->group;
    group = {"prod", "web-1", 2, 42, {}};
    auto& shop = group.stacks["shop"];
    shop.queue = {{"web-1", "r2", "2026-12-05T10:00:00Z", 10, 0x1f},
                  {"web-2", "r2", "2026-12-05T10:04:00Z", 11, 0x2a},
                  {"web-3", "r2", "2026-12-05T10:04:30Z", 12, 0x2b}};
    shop.halt =
        fleet::Halt{"r1", "web-9", "health gate failed: web unhealthy", "2026-12-05T09:05:00Z", 9};
    shop.done["r0"] = {"web-1", "web-2", "web-3", "web-4", "web-5", "web-6", "web-7"};
    shop.done["r1"] = {"web-8"};
    group.stacks["tools"];
    s.backend.names["shop"] = {{"r1", "v1.0.0 (0123456789ab)"}};
    REQUIRE(sys::parse_rfc3339("2026-12-05T10:05:00Z", s.clock.t));

    CHECK(s.run({"fleet", "status"}) == 0);
    CHECK(s.out.str() ==
          "fleet group prod: this host is web-1, at most 2 updating\n"
          "\n"
          "shop: 2 of 2 updating, 1 queued\n"
          "  HALTED    release v1.0.0 (0123456789ab) failed on web-9 1h ago: health gate failed: "
          "web unhealthy\n"
          "            no host starts it until `agentctl fleet unhalt shop` or a newer release "
          "passes\n"
          "  updating  web-1  release r2  since 5m ago\n"
          "  updating  web-2  release r2  since 1m ago\n"
          "  queued    web-3  release r2  since 30s ago\n"
          "  done      release r0 on 7 hosts: web-1, web-2, web-3, web-4, web-5, ... (2 more)\n"
          "  done      release v1.0.0 (0123456789ab) on 1 host: web-8\n"
          "\n"
          "tools: 0 of 2 updating, 0 queued\n");
    CHECK(s.run({"--json", "fleet", "status", "tools"}) == 0);
    const auto doc = nlohmann::json::parse(s.out.str());
    CHECK(doc["stacks"].size() == 1);
    CHECK(doc["stacks"][0]["stack"] == "tools");

    CHECK(s.run({"fleet", "unhalt", "shop"}) == 0);
    CHECK(s.out.str() ==
          "shop: halt cleared (release v1.0.0 (0123456789ab) had failed on web-9); hosts start it "
          "in their turn\n");
    CHECK(s.run({"fleet", "unhalt", "shop"}) == 1);
    CHECK(s.err.str() == "agentctl: fleet: stack shop is not halted\n");

    CHECK(s.run({"fleet", "release", "web-2", "shop"}) == 0);
    CHECK(s.out.str() == "shop: web-2's place freed (it was queued for release r2)\n");
    CHECK(s.backend.fleet_admin->calls.back() == "release shop web-2");
    CHECK(s.run({"fleet", "release", "web-2", "shop"}) == 2);
    CHECK(s.run({"fleet", "release", "web-2"}) == 2);  // usage: STACK is required
    CHECK(s.run({"fleet"}) == 2);
}

TEST_CASE("agentctl: policy test shows matches and the winner offline", "[ctl]") {
    Sandbox s;  // no server: the daemon is not asked
    REQUIRE(s.run({"policy", "test", "--semver", "^1", "v1.0.0", "v1.2.0", "v2.0.0-rc.1", "1.1.9",
                   "1.2.3.4"}) == 0);
    CHECK(s.out.str() ==
          "TAG          MATCH\n"
          "v1.0.0       yes\n"
          "v1.2.0       selected\n"
          "v2.0.0-rc.1  no\n"
          "1.1.9        yes\n"
          "1.2.3.4      no\n"
          "selected: v1.2.0\n");

    REQUIRE(s.run({"--json", "policy", "test", "--regex", "^main-(?P<ts>\\d+)$", "--order",
                   "numerical", "main-9", "main-10", "dev-11", "main-3.sig"}) == 0);
    const auto doc = nlohmann::json::parse(s.out.str());
    CHECK(doc["tags"] == nlohmann::json({"main-9", "main-10", "dev-11", "main-3.sig"}));
    CHECK(doc["matches"] == nlohmann::json({"main-10", "main-9"}));
    CHECK(doc["selected"] == "main-10");
}

TEST_CASE("agentctl: policy test exits 1 without a match and 2 on bad input", "[ctl]") {
    Sandbox s;
    REQUIRE(s.run({"--json", "policy", "test", "--semver", "^3", "1.0.0", "v2.9.9"}) == 1);
    CHECK(nlohmann::json::parse(s.out.str())["selected"].is_null());
    REQUIRE(s.run({"policy", "test", "--semver", "<<1", "1.0.0"}) == 2);
    CHECK(s.err.str() ==
          "agentctl policy test: --semver: semver range \"<<1\": unknown operator \"<<\"\n");
    REQUIRE(s.run({"policy", "test", "--semver", "^1", "--regex", "x", "1.0.0"}) == 2);
    REQUIRE(s.run({"policy", "test", "1.0.0"}) == 2);
    REQUIRE(s.run({"policy", "test", "--semver", "^1", "--order", "numerical", "1.0.0"}) == 2);
    REQUIRE(s.run({"policy", "test", "--regex", "(", "a"}) == 2);
    REQUIRE(s.run({"policy", "test", "--semver", "^1"}) == 2);  // no TAG
}

TEST_CASE("agentctl: tags lists a repository's tags, one per line", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"tags", "ghcr.io/acme/web"}) == 0);
    CHECK(s.out.str() == "v1.2.0\n1.9.3\n1.10.0\nv2.0.0-rc.1\nlatest\nsha256-abc.sig\n");
    CHECK(s.backend.calls.back() == "tags ghcr.io/acme/web");
    REQUIRE(s.run({"--json", "tags", "ghcr.io/acme/web"}) == 0);
    CHECK(nlohmann::json::parse(s.out.str()) ==
          nlohmann::json::parse(R"({"tags":["v1.2.0","1.9.3","1.10.0","v2.0.0-rc.1","latest",
                                            "sha256-abc.sig"]})"));
}

TEST_CASE("agentctl: tags with a policy marks matches as policy test does", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"tags", "ghcr.io/acme/web", "--semver", "^1"}) == 0);
    CHECK(s.out.str() ==
          "TAG             MATCH\n"
          "v1.2.0          yes\n"
          "1.9.3           yes\n"
          "1.10.0          selected\n"
          "v2.0.0-rc.1     no\n"
          "latest          no\n"
          "sha256-abc.sig  no\n"
          "selected: 1.10.0\n");
    REQUIRE(s.run({"--json", "tags", "ghcr.io/acme/web", "--regex", "^v(?P<v>.*)$"}) == 0);
    const auto doc = nlohmann::json::parse(s.out.str());
    CHECK(doc["matches"] == nlohmann::json({"v2.0.0-rc.1", "v1.2.0"}));
    CHECK(doc["selected"] == "v2.0.0-rc.1");
    // No match: exit 1, as policy test.
    REQUIRE(s.run({"tags", "ghcr.io/acme/web", "--semver", "^7"}) == 1);
    CHECK(s.out.str().find("no tag matches semver \"^7\"\n") != std::string::npos);
}

TEST_CASE("agentctl: tags errors name the option or the daemon's reason", "[ctl]") {
    Sandbox s;
    s.serve();
    REQUIRE(s.run({"tags", "web", "--semver", "<<1"}) == 2);
    CHECK(s.err.str() ==
          "agentctl tags: --semver: semver range \"<<1\": unknown operator \"<<\"\n");
    REQUIRE(s.run({"tags", "web", "--semver", "^1", "--regex", "x"}) == 2);
    REQUIRE(s.run({"tags", "web", "--order", "numerical"}) == 2);
    CHECK(s.err.str() == "agentctl tags: --order applies to --regex only\n");
    REQUIRE(s.run({"tags"}) == 2);  // no IMAGE
    CHECK(s.backend.calls.empty());

    REQUIRE(s.run({"tags", "Not An Image"}) == 2);
    CHECK(s.err.str().rfind("agentctl: image: ", 0) == 0);
    s.backend.tags_error = sys::Error::not_found("repository ghcr.io/acme/nope not found");
    REQUIRE(s.run({"tags", "ghcr.io/acme/nope"}) == 2);
    CHECK(s.err.str() == "agentctl: repository ghcr.io/acme/nope not found\n");
    s.backend.tags_error = sys::Error::unavailable("registry ghcr.io refused access");
    REQUIRE(s.run({"tags", "ghcr.io/acme/web"}) == 1);
    CHECK(s.err.str() == "agentctl: registry ghcr.io refused access\n");
    // Query values are encoded: the regex reaches the daemon intact.
    s.backend.tags_error.reset();
    REQUIRE(s.run({"--json", "tags", "web", "--regex", "^1\\.(?P<m>[0-9]+)&x=1 $"}) == 1);
    CHECK(nlohmann::json::parse(s.out.str())["selected"].is_null());
}

TEST_CASE("agentctl: verify exits 0 verified and 1 not, naming the key", "[ctl]") {
    agentd::testing::OpensslKey key("p256");
    Sandbox s;
    s.serve();
    const std::string pub = key.public_pem().string();
    REQUIRE(s.run({"verify", "ghcr.io/acme/web:2.4.0", "--key", pub}) == 0);
    CHECK(s.backend.calls.back() == "verify ghcr.io/acme/web");
    CHECK(s.out.str().find("verdict:  verified\n") != std::string::npos);
    CHECK(s.out.str().find("keys:     " + pub + " (ECDSA P-256)\n") != std::string::npos);

    s.backend.verdict = {"", false, "image ghcr.io/acme/web: not signed"};
    REQUIRE(s.run({"--json", "verify", "--key", pub, "ghcr.io/acme/web:2.4.0"}) == 1);
    const auto doc = nlohmann::json::parse(s.out.str());
    CHECK(doc["verified"] == false);
    CHECK(doc["image"] == "ghcr.io/acme/web:2.4.0");
    CHECK(doc["message"] == "image ghcr.io/acme/web: not signed");
    CHECK(doc["keys"][0]["file"] == pub);
    CHECK(s.err.str().empty());
}

TEST_CASE("agentctl: verify sends key files as absolute paths, any of several", "[ctl]") {
    agentd::testing::OpensslKey a("p256");
    agentd::testing::OpensslKey b("ed25519");
    Sandbox s;
    s.serve();
    const auto cwd = fs::current_path();
    fs::current_path(a.public_pem().parent_path());
    const int code =
        s.run({"verify", "--key", "public.pem", "--key", b.public_pem().string(), "web"});
    fs::current_path(cwd);
    REQUIRE(code == 0);
    REQUIRE(s.backend.last_policy);
    CHECK(s.backend.last_policy->cosign->files ==
          std::vector<fs::path>{a.public_pem(), b.public_pem()});
}

TEST_CASE("agentctl: verify usage errors exit 2 before asking agentd", "[ctl]") {
    Sandbox s;  // no daemon: these must not need one
    REQUIRE(s.run({"verify", "web"}) == 2);
    CHECK(s.err.str().rfind("agentctl verify: give the signatures to check: --key FILE", 0) == 0);
    REQUIRE(s.run({"verify", "web", "--key", "/k.pub", "--identity", "x", "--issuer", "y"}) == 2);
    CHECK(s.err.str().find("not both") != std::string::npos);
    REQUIRE(s.run({"verify", "web", "--identity", "x"}) == 2);
    CHECK(s.err.str() == "agentctl verify: --identity needs --issuer\n");
    REQUIRE(s.run({"verify", "web", "--issuer", "y"}) == 2);
    CHECK(s.err.str() == "agentctl verify: --issuer needs --identity\n");
    REQUIRE(s.run({"verify", "Not An Image", "--key", "/k.pub"}) == 2);
    CHECK(s.err.str().rfind("agentctl verify: ", 0) == 0);
    REQUIRE(s.run({"verify", "--key", "/k.pub"}) == 2);  // no IMAGE
    CHECK(s.backend.calls.empty());
}

TEST_CASE("agentctl: verify errors from agentd follow the API's status", "[ctl]") {
    agentd::testing::OpensslKey key("p256");
    Sandbox s;
    REQUIRE(s.run({"verify", "web", "--key", key.public_pem().string()}) == 3);
    s.serve();
    // Refused by agentd: a key file it cannot read, a trusted root it cannot read: 2.
    REQUIRE(s.run({"verify", "web", "--key", "/nonexistent/k.pub"}) == 2);
    CHECK(s.err.str().rfind("agentctl: key: public key /nonexistent/k.pub: cannot be read", 0) ==
          0);
    REQUIRE(s.run({"verify", "web", "--identity", "ci@acme.example", "--issuer", "https://x",
                   "--trusted-root", "/nonexistent/root.json"}) == 2);
    CHECK(s.err.str().rfind("agentctl: trusted_root: cannot read trusted root "
                            "/nonexistent/root.json",
                            0) == 0);
    CHECK(s.backend.calls.empty());
    // An unknown image: 2, as tags; an unreachable registry: 1 with the reason, nothing on stdout.
    s.backend.verify_error = sys::Error::not_found("tag 9 not found in web");
    REQUIRE(s.run({"verify", "web:9", "--key", key.public_pem().string()}) == 2);
    CHECK(s.err.str() == "agentctl: tag 9 not found in web\n");
    s.backend.verify_error = sys::Error::unavailable("registry ghcr.io: connection refused");
    REQUIRE(s.run({"verify", "ghcr.io/acme/web", "--key", key.public_pem().string()}) == 1);
    CHECK(s.err.str() == "agentctl: registry ghcr.io: connection refused\n");
    CHECK(s.out.str().empty());
}

TEST_CASE("agentctl: watch prints the stream's JSON lines, or its display, until it ends",
          "[ctl]") {
    Sandbox s;
    s.serve();
    s.backend.event_lines = {
        "{\"type\":\"subscribed\",\"stack\":\"shop\"}\n",
        "{\"type\":\"heartbeat\"}\n{\"at\":\"2026-12-04T13:05:08Z\",\"stack\":\"shop\","
        "\"deployment\":7,\"type\":\"phase\",\"phase\":\"pull\",\"message\":\"1 image(s)\"}\n",
        "{\"stack\":\"shop\",\"deployment\":7,\"type\":\"end\",\"status\":\"succeeded\","
        "\"message\":\"deployed\"}\n"};
    // agentd ending the stream (it stops) ends watch, as unreachable from then on.
    REQUIRE(s.run({"--json", "watch", "shop"}) == 3);
    CHECK(s.backend.calls.back() == "events shop");
    std::vector<nlohmann::json> lines;
    std::istringstream in(s.out.str());
    for (std::string line; std::getline(in, line);) {
        lines.push_back(nlohmann::json::parse(line));
    }
    REQUIRE(lines.size() == 3);  // the heartbeat is not printed
    CHECK(lines[0]["type"] == "subscribed");
    CHECK(lines[1]["phase"] == "pull");
    CHECK(lines[2]["status"] == "succeeded");
    CHECK(s.err.str() == "agentctl: agentd ended the stream (it is stopping)\n");

    REQUIRE(s.run({"watch"}) == 3);
    CHECK(s.backend.calls.back() == "events *");
    CHECK(s.out.str() ==
          "13:05:08 shop #7 pull: 1 image(s)\nshop #7 cycle ended: succeeded: deployed\n");

    REQUIRE(s.run({"watch", "nope"}) == 2);
    CHECK(s.err.str() == "agentctl: unknown stack \"nope\"\n");
}

TEST_CASE("agentctl: sync STACK --wait --json streams the cycle's lines, then its outcome",
          "[ctl]") {
    Sandbox s;
    s.serve();
    s.follow = true;
    s.backend.cycle = {deploy::Outcome::RolledBack, 8, "web: unhealthy"};
    s.backend.event_lines = {
        "{\"type\":\"subscribed\",\"stack\":\"shop\"}\n",
        "{\"stack\":\"shop\",\"deployment\":8,\"type\":\"phase\",\"phase\":\"gate\","
        "\"message\":\"waiting\"}\n",
        "{\"stack\":\"shop\",\"deployment\":8,\"type\":\"end\",\"status\":\"rolled_back\","
        "\"message\":\"web: unhealthy\"}\n"};
    REQUIRE(s.run({"--json", "sync", "shop", "--wait"}) == 1);
    // Subscribed before the sync was asked for, so nothing of the cycle is missed.
    REQUIRE(s.backend.calls.size() >= 2);
    CHECK(s.backend.calls[s.backend.calls.size() - 2] == "events shop");
    // With its id, for agentd to name it in the cycle's end line.
    CHECK(s.backend.calls.back().starts_with("sync shop wait request "));
    std::vector<nlohmann::json> lines;
    std::istringstream in(s.out.str());
    for (std::string line; std::getline(in, line);) {
        lines.push_back(nlohmann::json::parse(line));
    }
    REQUIRE(lines.size() == 4);
    CHECK(lines[1]["phase"] == "gate");
    CHECK(lines[2]["type"] == "end");
    // The last line is the outcome document, as without the stream.
    CHECK(lines[3] == nlohmann::json{{"outcome", "rolled_back"},
                                     {"deployment", 8},
                                     {"message", "web: unhealthy"}});
    // Without --json or a terminal: the outcome only, as before.
    REQUIRE(s.run({"sync", "shop", "--wait"}) == 1);
    CHECK(s.out.str() == "shop: rolled_back, deployment 8: web: unhealthy\n");
    // On a terminal: the progress display, then the outcome.
    s.terminal = true;
    REQUIRE(s.run({"sync", "shop", "--wait"}) == 1);
    CHECK(s.out.str() ==
          "shop #8 gate: waiting\n"
          "shop #8 cycle ended: rolled_back: web: unhealthy\n"
          "shop: rolled_back, deployment 8: web: unhealthy\n");
}

}  // namespace unit_ctl_commands_test
