#include "agent/daemon/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/sys/http.h"
#include "tests/fakes/fakes.h"
#include "tests/unit/daemon/fake_clock.h"
#include "tests/unit/free_port.h"
#include "tests/unit/log_capture.h"
#include "tests/unit/openssl_signer.h"
#include "tests/unit/temp_dir.h"

namespace unit_daemon_daemon_test {

using namespace agentd;
using agentd::testing::free_port;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using FakeStore = fakes::MemoryStore;

namespace {

struct Recorder {
    std::mutex mutex;
    std::vector<std::string> calls;
    std::map<std::string, deploy::Outcome> outcomes;
    std::vector<std::string> projects;  ///< the compose project of each reconciled stack
    /// Stacks whose cycle throws this StoreError (as the store does on a full disk).
    std::map<std::string, std::string> throws;
    void add(std::string c) {
        std::lock_guard lock(mutex);
        calls.push_back(std::move(c));
    }
    std::vector<std::string> snapshot() {
        std::lock_guard lock(mutex);
        return calls;
    }
};

class FakeRunner final : public daemon::CycleRunner {
public:
    FakeRunner(Recorder& r, FakeStore& s, daemon::Pulse pulse = {},
               std::optional<sys::Duration> hang = std::nullopt,
               const std::atomic<bool>* release = nullptr)
        : m_r(r), m_store(s), m_pulse(pulse), m_hang(hang), m_release(release) {}
    FakeRunner(Recorder& r, FakeStore& s, daemon::Pulse pulse, std::optional<sys::Duration> hang,
               const std::atomic<bool>& release)
        : FakeRunner(r, s, pulse, hang, &release) {}
    deploy::CycleResult reconcile(const config::Stack& stack, model::Trigger t,
                                  deploy::Urgency urgency, sources::AskedAt) override {
        m_r.add("reconcile " + stack.name + " " + model::to_string(t) +
                (urgency == deploy::Urgency::Now ? " now" : ""));
        {
            std::lock_guard lock(m_r.mutex);
            m_r.projects.push_back(stack.project());
        }
        // As git or the registry would: a record that does not name the stack.
        spdlog::debug("fake runner: reconciling");
        if (stack.name == "stuck" && m_hang) {
            daemon::Pulse::Step step(m_pulse, "docker-compose up -d", *m_hang);
            while (!*m_release) {
                std::this_thread::sleep_for(5ms);
            }
        }
        std::lock_guard lock(m_r.mutex);
        if (auto thrown = m_r.throws.find(stack.name); thrown != m_r.throws.end()) {
            throw state::StoreError(thrown->second);
        }
        auto it = m_r.outcomes.find(stack.name);
        return {it == m_r.outcomes.end() ? deploy::Outcome::Noop : it->second, std::nullopt, "ok"};
    }
    deploy::CycleResult rollback(const config::Stack& stack,
                                 std::optional<std::int64_t> to) override {
        m_r.add("rollback " + stack.name + " " + (to ? std::to_string(*to) : "-"));
        model::Deployment d;
        d.stack = stack.name;
        d.status = model::Status::Succeeded;
        d.trigger = model::Trigger::Rollback;
        const auto id = m_store.create_deployment(d);
        return {deploy::Outcome::Succeeded, id, "restored"};
    }
    deploy::CycleResult pin(const config::Stack& stack, std::int64_t to) override {
        m_r.add("pin " + stack.name + " " + std::to_string(to));
        m_store.set_control(stack.name, false, to);
        return {deploy::Outcome::Noop, to, "pinned"};
    }
    deploy::CycleResult approve(const config::Stack& stack,
                                std::optional<std::int64_t> which) override {
        m_r.add("approve " + stack.name + " " + (which ? std::to_string(*which) : "-"));
        return {deploy::Outcome::Succeeded, which, "approved"};
    }
    void recover(const config::Stack& stack, std::string_view) override {
        m_r.add("recover " + stack.name);
    }
    state::Store& store() override { return m_store; }

private:
    Recorder& m_r;
    fakes::StoreHandle m_store;
    daemon::Pulse m_pulse;
    std::optional<sys::Duration> m_hang;
    const std::atomic<bool>* m_release;
};

/// Hands out the wiring's one FakeRegistry as a per-request client.
class RegistryHandle final : public sources::Registry {
public:
    explicit RegistryHandle(fakes::FakeRegistry& r) : m_r(r) {}
    sys::Result<std::string> resolve_digest(const sources::ImageRef& ref) override {
        return m_r.resolve_digest(ref);
    }
    sys::Result<std::vector<std::string>> list_tags(const sources::ImageRef& ref) override {
        return m_r.list_tags(ref);
    }
    sys::Result<sources::Manifest> get_manifest(const sources::ImageRef& ref) override {
        return m_r.get_manifest(ref);
    }
    sys::Result<std::string> get_blob(const sources::ImageRef& ref, const std::string& digest,
                                      std::size_t max_size) override {
        return m_r.get_blob(ref, digest, max_size);
    }
    sys::Result<std::vector<sources::Referrer>> referrers(
        const sources::ImageRef& ref, const std::string& digest,
        const std::string& artifact_type) override {
        return m_r.referrers(ref, digest, artifact_type);
    }

private:
    fakes::FakeRegistry& m_r;
};

/// Hands out the wiring's one FakeVerifier as a per-request verifier.
class VerifierHandle final : public trust::ImageVerifier {
public:
    explicit VerifierHandle(fakes::FakeVerifier& v) : m_v(v) {}
    sys::Result<std::string> verify(const sources::ImageRef& image, const std::string& digest,
                                    const config::ImageVerify& policy) override {
        return m_v.verify(image, digest, policy);
    }

private:
    fakes::FakeVerifier& m_v;
};

class FakeWiring final : public daemon::Wiring {
public:
    Recorder recorder;
    FakeStore store;
    fakes::FakeRegistry registry;
    /// The `registries:` hosts of the configuration each registry client was made for.
    std::vector<std::vector<std::string>> registry_configs;
    std::unique_ptr<state::Store> open_store(const config::Config&) override {
        return std::make_unique<fakes::StoreHandle>(store);
    }
    /// While set, a cycle of stack "stuck" reports a compose call with this timeout and blocks
    /// until `release` is set (a worker hung in compose).
    std::optional<sys::Duration> hang;
    std::atomic<bool> release{false};
    std::unique_ptr<daemon::CycleRunner> make_runner(const config::Config&,
                                                     const std::atomic<bool>&,
                                                     daemon::Pulse pulse) override {
        return std::make_unique<FakeRunner>(recorder, store, pulse, hang, release);
    }
    std::unique_ptr<sources::Registry> make_registry(const config::Config& config) override {
        std::vector<std::string> hosts;
        for (const auto& r : config.registries) {
            hosts.push_back(r.host);
        }
        registry_configs.push_back(hosts);
        return std::make_unique<RegistryHandle>(registry);
    }
    fakes::FakeVerifier verifier;
    /// The registry client each verifier was made for reads the wiring's FakeRegistry.
    int verifiers_made = 0;
    std::unique_ptr<trust::ImageVerifier> make_image_verifier(sources::Registry&) override {
        ++verifiers_made;
        return std::make_unique<VerifierHandle>(verifier);
    }
};

class RecordingNotifier final : public daemon::Notifier {
public:
    sys::Duration watchdog = sys::Duration::zero();
    void notify(const std::string& s) override {
        std::lock_guard lock(m_mutex);
        m_sent.push_back(s);
    }
    sys::Duration watchdog_interval() override { return watchdog; }
    std::size_t count(const std::string& prefix) {
        std::lock_guard lock(m_mutex);
        return static_cast<std::size_t>(
            std::count_if(m_sent.begin(), m_sent.end(),
                          [&](const std::string& s) { return s.rfind(prefix, 0) == 0; }));
    }
    bool sent_starting_with(const std::string& prefix) {
        std::lock_guard lock(m_mutex);
        return std::any_of(m_sent.begin(), m_sent.end(),
                           [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    }

private:
    std::mutex m_mutex;
    std::vector<std::string> m_sent;
};

using agentd::testing::TempDir;

config::Config two_stacks(const fs::path& dir) {
    config::Config c;
    c.state_dir = dir;
    c.api.socket = dir / "api.sock";
    for (const char* name : {"shop", "blog"}) {
        config::Stack s;
        s.name = name;
        s.dir = dir;
        c.stacks.push_back(s);
    }
    return c;
}

std::string config_yaml(const fs::path& dir, const std::vector<std::string>& stacks) {
    std::string text = "state_dir: " + dir.string() +
                       "\napi:\n  socket: " + (dir / "api.sock").string() + "\nstacks:\n";
    for (const auto& s : stacks) {
        text += "  - name: " + s + "\n    dir: " + dir.string() + "\n";
    }
    return text;
}

sys::Result<sys::HttpResponse> call(const fs::path& socket, const std::string& method,
                                    const std::string& path, const std::string& body = "") {
    sys::CurlHttpClient http;
    sys::HttpRequest r;
    r.method = method;
    r.url = "http://localhost" + path;
    r.unix_socket = socket.string();
    r.body = body;
    return http.send(r);
}

}  // namespace

TEST_CASE("daemon: --once recovers and runs every stack in order", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    daemon::testing::FakeClock clock;
    daemon::Daemon d(two_stacks(dir.path()), dir.path() / "agent.yaml", wiring, notifier, clock);
    REQUIRE(d.run_once() == 0);
    REQUIRE(wiring.recorder.snapshot() ==
            std::vector<std::string>{"recover shop", "reconcile shop poll", "recover blog",
                                     "reconcile blog poll"});
}

TEST_CASE("daemon: a job's records, its runner's too, carry its stack in the log context",
          "[daemon][log]") {
    TempDir dir;
    FakeWiring wiring;
    wiring.recorder.outcomes["blog"] = deploy::Outcome::Failed;
    RecordingNotifier notifier;
    daemon::testing::FakeClock clock;
    daemon::Daemon d(two_stacks(dir.path()), dir.path() / "agent.yaml", wiring, notifier, clock);
    testing::LogCapture logs;
    REQUIRE(d.run_once() == 1);
    const auto runner = logs.containing("fake runner: reconciling");
    REQUIRE(runner.size() == 2);
    CHECK(runner[0].context.stack == "shop");
    CHECK(runner[1].context.stack == "blog");
    const auto results = logs.containing("stack blog: failed");
    REQUIRE(results.size() == 1);
    CHECK(results[0].level == spdlog::level::err);
    CHECK(results[0].context.stack == "blog");
    CHECK(sys::current_log_context().stack.empty());
}

TEST_CASE("daemon: --once exits 1 when a cycle failed or could not poll", "[daemon]") {
    TempDir dir;
    for (auto outcome : {deploy::Outcome::Failed, deploy::Outcome::PollError}) {
        FakeWiring wiring;
        wiring.recorder.outcomes["blog"] = outcome;
        RecordingNotifier notifier;
        daemon::testing::FakeClock clock;
        daemon::Daemon d(two_stacks(dir.path()), dir.path() / "agent.yaml", wiring, notifier,
                         clock);
        REQUIRE(d.run_once() == 1);
    }
    REQUIRE(daemon::outcome_is_failure(deploy::Outcome::Failed));
    REQUIRE_FALSE(daemon::outcome_is_failure(deploy::Outcome::RolledBack));
}

TEST_CASE("daemon: reload keeps the old configuration when the new file is bad", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    daemon::testing::FakeClock clock;
    const auto file = dir.path() / "agent.yaml";
    daemon::Daemon d(two_stacks(dir.path()), file, wiring, notifier, clock);
    std::ofstream(file) << config_yaml(dir.path(), {"shop", "blog", "wiki"});
    auto ok = d.reload();
    REQUIRE(*ok == 3);
    REQUIRE(notifier.sent_starting_with("RELOADING=1"));
    std::ofstream(file) << config_yaml(dir.path(), {"shop"}) << "bad_key: 1\n";
    auto bad = d.reload();
    REQUIRE(!bad);
    REQUIRE(bad.error().kind == sys::Error::Kind::InvalidInput);
    REQUIRE(bad.error().message.find("agent.yaml") != std::string::npos);
    // --once runs the three stacks of the last good file.
    REQUIRE(d.run_once() == 0);
    REQUIRE(wiring.recorder.snapshot().size() == 6);
}

TEST_CASE("daemon: a reload keeps project_prefix, which changes at the next start", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    daemon::testing::FakeClock clock;
    const auto file = dir.path() / "agent.yaml";
    const auto config =
        config::parse_config("project_prefix: a1-\n" + config_yaml(dir.path(), {"shop"}), "a.yaml");
    daemon::Daemon d(config, file, wiring, notifier, clock);
    std::ofstream(file) << "project_prefix: b2-\n" << config_yaml(dir.path(), {"shop", "blog"});
    testing::LogCapture logs;
    REQUIRE(*d.reload() == 2);
    CHECK(logs.containing("project_prefix changes take effect at the next start").size() == 1);
    // The stacks of the new file, the new one too, keep the projects of the prefix in use.
    REQUIRE(d.run_once() == 0);
    CHECK(wiring.recorder.projects == std::vector<std::string>{"a1-shop", "a1-blog"});
}

TEST_CASE("daemon: serves the API, pins on rollback and stops on SIGTERM", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    const auto socket = config.api.socket;
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    int exit_code = -1;
    std::thread server([&] {
        daemon::block_signals();
        exit_code = d.serve();
    });
    // Wait until the API answers (the daemon is READY).
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!notifier.sent_starting_with("READY=1") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(notifier.sent_starting_with("READY=1"));

    auto status = call(socket, "GET", "/v1/status");
    REQUIRE(status.ok());
    REQUIRE(nlohmann::json::parse(status->body)["stacks"].size() == 2);

    auto sync = call(socket, "POST", "/v1/stacks/shop/sync", R"({"wait":true})");
    REQUIRE(sync.ok());
    REQUIRE(nlohmann::json::parse(sync->body)["outcome"] == "noop");
    // An admin's sync deploys now, outside the deployment window if need be.
    const auto synced = wiring.recorder.snapshot();
    CHECK(std::count(synced.begin(), synced.end(), "reconcile shop manual now") == 1);

    auto rollback = call(socket, "POST", "/v1/stacks/shop/rollback", "{}");
    REQUIRE(rollback.ok());
    const auto answer = nlohmann::json::parse(rollback->body);
    REQUIRE(answer["outcome"] == "succeeded");
    const auto state = wiring.store.stack_state("shop");
    REQUIRE(state.paused);
    REQUIRE(state.pinned == answer["deployment"].get<std::int64_t>());

    auto shown = call(socket, "GET", "/v1/status?stack=shop");
    REQUIRE(nlohmann::json::parse(shown->body)["stacks"][0]["state"] == "paused");
    auto resumed = call(socket, "POST", "/v1/stacks/shop/resume");
    REQUIRE(nlohmann::json::parse(resumed->body)["pinned"].is_null());

    const auto calls = wiring.recorder.snapshot();
    // Recovery ran before the first cycle of each stack.
    const auto first_recover = std::find(calls.begin(), calls.end(), "recover shop");
    const auto first_cycle = std::find_if(calls.begin(), calls.end(), [](const std::string& c) {
        return c.rfind("reconcile shop", 0) == 0;
    });
    REQUIRE(first_recover < first_cycle);

    pthread_kill(server.native_handle(), SIGTERM);
    server.join();
    REQUIRE(exit_code == 0);
    REQUIRE(notifier.sent_starting_with("STOPPING=1"));
    REQUIRE_FALSE(fs::exists(socket));
}

TEST_CASE("daemon: pin, unpin and retry reach the worker and the store", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    const auto socket = config.api.socket;
    model::Deployment good;
    good.stack = "shop";
    good.status = model::Status::Superseded;
    good.phase = "promote";  // it passed the gate
    const auto good_id = wiring.store.create_deployment(good);
    model::Deployment bad = good;
    bad.status = model::Status::RolledBack;
    const auto bad_id = wiring.store.create_deployment(bad);
    model::Deployment other = good;
    other.stack = "blog";
    const auto other_id = wiring.store.create_deployment(other);
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    std::thread server([&] {
        daemon::block_signals();
        d.serve();
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!notifier.sent_starting_with("READY=1") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(notifier.sent_starting_with("READY=1"));
    const auto pin = [&](std::int64_t id) {
        return call(socket, "POST", "/v1/stacks/shop/pin",
                    nlohmann::json{{"deployment", id}}.dump());
    };

    // Refused before any job: unknown, another stack's, one that never passed the gate.
    CHECK(pin(999)->status == 404);
    CHECK(pin(other_id)->status == 404);
    const auto refused = pin(bad_id);
    CHECK(refused->status == 409);
    CHECK(nlohmann::json::parse(refused->body)["error"].get<std::string>().find("rolled_back") !=
          std::string::npos);
    const auto pinned = pin(good_id);
    REQUIRE(pinned->status == 200);
    CHECK(nlohmann::json::parse(pinned->body)["deployment"] == good_id);
    CHECK(wiring.store.stack_state("shop").pinned == good_id);

    auto unpinned = call(socket, "POST", "/v1/stacks/shop/unpin");
    REQUIRE(unpinned->status == 200);
    CHECK(nlohmann::json::parse(unpinned->body)["pinned"].is_null());
    CHECK(wiring.store.stack_state("shop").pinned == std::nullopt);

    wiring.store.mark_bad("shop", "release-key", "unhealthy");
    wiring.store.mark_bad("blog", "release-key", "unhealthy");
    auto retried = call(socket, "POST", "/v1/stacks/shop/retry");
    REQUIRE(retried->status == 200);
    CHECK(nlohmann::json::parse(retried->body)["outcome"] == "noop");
    CHECK_FALSE(wiring.store.is_bad("shop", "release-key"));
    CHECK(wiring.store.is_bad("blog", "release-key"));  // another stack's are kept
    CHECK(call(socket, "POST", "/v1/stacks/nope/retry")->status == 404);

    // unpin's cycle keeps to the deployment window: only an explicit sync overrides it.
    const auto unpin_deadline = std::chrono::steady_clock::now() + 10s;
    auto calls = wiring.recorder.snapshot();
    while (std::count(calls.begin(), calls.end(), "reconcile shop manual") == 0 &&
           std::chrono::steady_clock::now() < unpin_deadline) {
        std::this_thread::sleep_for(10ms);
        calls = wiring.recorder.snapshot();
    }
    CHECK(std::count(calls.begin(), calls.end(), "reconcile shop manual") == 1);
    CHECK(std::count(calls.begin(), calls.end(), "reconcile shop manual now") == 0);
    CHECK(std::count(calls.begin(), calls.end(), "pin shop " + std::to_string(good_id)) == 1);
    CHECK(std::count(calls.begin(), calls.end(), "reconcile shop retry") == 1);
    pthread_kill(server.native_handle(), SIGTERM);
    server.join();
}

TEST_CASE("daemon: tags lists through a registry client of the configuration in force",
          "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    wiring.registry.digests = {{"acme/web:1.10.0", "sha256:a"},
                               {"acme/web:1.9.0", "sha256:b"},
                               {"acme/web:latest", "sha256:a"},
                               {"acme/api:3.0.0", "sha256:c"}};
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    config::Registry private_registry;
    private_registry.host = "registry.example.com";
    config.registries.push_back(private_registry);
    const auto socket = config.api.socket;
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    std::thread server([&] {
        daemon::block_signals();
        d.serve();
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!notifier.sent_starting_with("READY=1") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(notifier.sent_starting_with("READY=1"));

    auto listed = call(socket, "GET", "/v1/tags?image=registry.example.com/acme/web&semver=%5E1");
    REQUIRE(listed.ok());
    CHECK(listed->status == 200);
    const auto doc = nlohmann::json::parse(listed->body);
    CHECK(doc["tags"] == nlohmann::json({"1.9.0", "1.10.0", "latest"}));
    CHECK(doc["matches"] == nlohmann::json({"1.10.0", "1.9.0"}));
    CHECK(doc["selected"] == "1.10.0");
    REQUIRE(wiring.registry_configs.size() == 1);
    CHECK(wiring.registry_configs[0] == std::vector<std::string>{"registry.example.com"});

    wiring.registry.list_error = sys::Error::unauthorized(
        "registry registry.example.com refused access to acme/web (HTTP 401)");
    auto refused = call(socket, "GET", "/v1/tags?image=registry.example.com/acme/web");
    REQUIRE(refused.ok());
    CHECK(refused->status == 502);
    const std::string message = nlohmann::json::parse(refused->body)["error"];
    CHECK(message.find("registry registry.example.com refused access") == 0);
    CHECK(message.find("`registries:`") != std::string::npos);
    CHECK(message.find("Docker client config") != std::string::npos);

    wiring.registry.list_error = sys::Error::not_found("repository x/nope not found");
    auto missing = call(socket, "GET", "/v1/tags?image=x/nope");
    REQUIRE(missing.ok());
    CHECK(missing->status == 404);
    CHECK(nlohmann::json::parse(missing->body)["error"] == "repository x/nope not found");

    wiring.registry.list_error = sys::Error::failed("registry x: connection refused");
    auto down = call(socket, "GET", "/v1/tags?image=x/nope");
    REQUIRE(down.ok());
    CHECK(down->status == 502);

    pthread_kill(server.native_handle(), SIGTERM);
    server.join();
}

TEST_CASE("daemon: verify resolves the tag and asks a verifier of its own, touching no stack",
          "[daemon]") {
    TempDir dir;
    agentd::testing::OpensslKey key("p256");
    FakeWiring wiring;
    const std::string signed_digest = "sha256:" + std::string(64, 'a');
    const std::string unsigned_digest = "sha256:" + std::string(64, 'b');
    wiring.registry.digests = {{"acme/web:1.0", signed_digest}, {"acme/web:2.0", unsigned_digest}};
    wiring.verifier.errors[unsigned_digest] = sys::Error::invalid(
        "image registry.example.com/acme/web@" + unsigned_digest + ": not signed");
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    config.stacks.resize(1);  // a stack the verification must leave alone
    const auto socket = config.api.socket;
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    std::thread server([&] {
        daemon::block_signals();
        d.serve();
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!notifier.sent_starting_with("READY=1") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(notifier.sent_starting_with("READY=1"));
    const auto verify = [&](const std::string& image) {
        return call(socket, "POST", "/v1/verify",
                    nlohmann::json{{"image", image}, {"key", key.public_pem().string()}}.dump());
    };

    auto good = verify("registry.example.com/acme/web:1.0");
    REQUIRE(good.ok());
    REQUIRE(good->status == 200);
    auto doc = nlohmann::json::parse(good->body);
    CHECK(doc["verified"] == true);
    CHECK(doc["digest"] == signed_digest);
    CHECK(doc["message"] == "signed by " + key.public_pem().string());
    CHECK(wiring.verifier.calls ==
          std::vector<std::string>{"registry.example.com/acme/web@" + signed_digest});

    auto bad = verify("registry.example.com/acme/web:2.0");
    REQUIRE(bad.ok());
    REQUIRE(bad->status == 200);
    doc = nlohmann::json::parse(bad->body);
    CHECK(doc["verified"] == false);
    CHECK(doc["digest"] == unsigned_digest);
    CHECK(doc["message"].get<std::string>().find(": not signed") != std::string::npos);

    // By digest: the registry is asked whether it has the digest, then its signatures.
    auto pinned = verify("registry.example.com/acme/web@" + signed_digest);
    REQUIRE(pinned.ok());
    CHECK(nlohmann::json::parse(pinned->body)["verified"] == true);
    auto absent = verify("registry.example.com/acme/web@sha256:" + std::string(64, 'f'));
    REQUIRE(absent.ok());
    CHECK(absent->status == 404);
    auto no_tag = verify("registry.example.com/acme/web:3.0");
    REQUIRE(no_tag.ok());
    CHECK(no_tag->status == 404);
    CHECK(nlohmann::json::parse(no_tag->body)["error"] == "tag 3.0 not found");
    CHECK(wiring.verifier.calls.size() == 3);  // nothing verified for a missing image

    // A signature the registry could not serve is no verdict: 502, not "not verified".
    wiring.verifier.errors[signed_digest] =
        sys::Error::failed("reading signature: connection reset");
    auto undecided = verify("registry.example.com/acme/web:1.0");
    REQUIRE(undecided.ok());
    CHECK(undecided->status == 502);
    CHECK(nlohmann::json::parse(undecided->body)["error"] == "reading signature: connection reset");

    // Each request had a registry client and a verifier of its own (nothing cached between
    // them); nothing was recorded, and no cycle beyond the stack's own first poll ran.
    CHECK(wiring.verifiers_made == 4);
    CHECK(wiring.registry_configs.size() == 6);
    CHECK(wiring.store.history("", 10).empty());
    for (const auto& call : wiring.recorder.snapshot()) {
        CHECK(call.find("manual") == std::string::npos);
        CHECK(call.rfind("rollback", 0) == std::string::npos);
    }

    pthread_kill(server.native_handle(), SIGTERM);
    server.join();
}

namespace {

/// A clock the test moves by hand, readable from the daemon's threads.
class SharedFakeClock final : public sys::Clock {
public:
    sys::TimePoint now() override { return sys::TimePoint(sys::Duration(m_ms.load())); }
    void sleep_for(sys::Duration d) override { m_ms += d.count(); }
    void advance(sys::Duration d) { m_ms += d.count(); }

private:
    std::atomic<sys::Duration::rep> m_ms{1'700'000'000'000};
};

/// Runs serve() in a thread; SIGTERM and join when the test ends, also when it fails.
class ServingDaemon {
public:
    explicit ServingDaemon(daemon::Daemon& d)
        : m_thread([&d] {
              daemon::block_signals();
              (void)d.serve();
          }) {}
    ~ServingDaemon() {
        pthread_kill(m_thread.native_handle(), SIGTERM);
        m_thread.join();
    }
    ServingDaemon(const ServingDaemon&) = delete;
    ServingDaemon& operator=(const ServingDaemon&) = delete;

private:
    std::thread m_thread;
};

template <class F>
bool eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

}  // namespace

TEST_CASE("daemon: the watchdog is pinged only while no worker is stuck past its step's timeout",
          "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    wiring.hang = 10s;  // the compose call's own timeout
    RecordingNotifier notifier;
    notifier.watchdog = 40ms;
    SharedFakeClock clock;
    config::Config config;
    config.state_dir = dir.path();
    config.api.socket = dir.path() / "api.sock";
    config::Stack stack;
    stack.name = "stuck";
    stack.dir = dir.path();
    config.stacks.push_back(stack);
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    ServingDaemon server(d);
    // Whatever happens below, the blocked worker is let go before the daemon stops (destroyed
    // before `server`).
    struct Release {
        std::atomic<bool>& release;
        ~Release() { release = true; }
    } release_at_end{wiring.release};
    // The worker is in its compose call, within the call's timeout: pings go on.
    REQUIRE(eventually([&] {
        const auto calls = wiring.recorder.snapshot();
        return std::find(calls.begin(), calls.end(), "reconcile stuck poll") != calls.end();
    }));
    const auto before = notifier.count("WATCHDOG=1");
    REQUIRE(eventually([&] { return notifier.count("WATCHDOG=1") > before + 2; }));
    // Within timeout + margin still fine; past it the worker is stuck: reported once, and the
    // pings stop.
    clock.advance(10s + daemon::k_liveness_margin - 1s);
    const auto within = notifier.count("WATCHDOG=1");
    REQUIRE(eventually([&] { return notifier.count("WATCHDOG=1") > within + 2; }));
    clock.advance(2s);
    REQUIRE(
        eventually([&] { return notifier.sent_starting_with("STATUS=stack stuck: stuck in"); }));
    const auto stopped = notifier.count("WATCHDOG=1");
    // Several ticks (20 ms each) pass without a ping; the stuck step is reported only once.
    std::this_thread::sleep_for(200ms);
    CHECK(notifier.count("WATCHDOG=1") == stopped);
    CHECK(notifier.count("STATUS=stack stuck: stuck in docker-compose up -d") == 1);
    // The step returns: pings resume.
    wiring.release = true;
    CHECK(eventually([&] { return notifier.count("WATCHDOG=1") > stopped; }));
}

TEST_CASE(
    "daemon: a store error ends a cycle as a poll error, shown until a cycle ends, and the "
    "next cycle finishes what it left",
    "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    const auto socket = config.api.socket;
    {
        std::lock_guard lock(wiring.recorder.mutex);
        wiring.recorder.throws["shop"] = "COMMIT: database or disk is full";
    }
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    ServingDaemon server(d);
    REQUIRE(eventually([&] { return notifier.sent_starting_with("READY=1"); }));
    const auto last_poll = [&](const std::string& stack) {
        auto status = call(socket, "GET", "/v1/status?stack=" + stack);
        REQUIRE(status.ok());
        return nlohmann::json::parse(status->body)["stacks"][0]["last_poll"];
    };
    auto sync = call(socket, "POST", "/v1/stacks/shop/sync", R"({"wait":true})");
    REQUIRE(sync.ok());
    // Not the release's failure, nor a deployment's: agentd's surroundings failed.
    CHECK(nlohmann::json::parse(sync->body)["outcome"] == "poll_error");
    auto shown = last_poll("shop");
    CHECK(shown["result"] == "error");
    CHECK(shown["error"] == "state store: COMMIT: database or disk is full");
    CHECK(last_poll("blog")["result"].is_null());  // the store's (never polled)
    // Space is back: the next cycle ends normally and the store's last poll is shown again.
    {
        std::lock_guard lock(wiring.recorder.mutex);
        wiring.recorder.throws.clear();
    }
    const auto calls_before = wiring.recorder.snapshot().size();
    sync = call(socket, "POST", "/v1/stacks/shop/sync", R"({"wait":true})");
    REQUIRE(sync.ok());
    CHECK(last_poll("shop")["error"].is_null());
    // The failed cycle may have left a deployment in_progress: the next one recovers it first.
    const auto calls = wiring.recorder.snapshot();
    REQUIRE(calls.size() == calls_before + 2);
    CHECK(calls[calls_before] == "recover shop");
    CHECK(calls[calls_before + 1].starts_with("reconcile shop"));
}

namespace {

sys::Result<sys::HttpResponse> tcp(int port, const std::string& method, const std::string& path) {
    sys::CurlHttpClient http;
    sys::HttpRequest r;
    r.method = method;
    r.url = "http://127.0.0.1:" + std::to_string(port) + path;
    return http.send(r);
}

}  // namespace

TEST_CASE("daemon: each poll's outcome is counted in the metrics", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    wiring.recorder.outcomes["blog"] = deploy::Outcome::PollError;
    RecordingNotifier notifier;
    daemon::testing::FakeClock clock;
    daemon::AgentdMetrics metrics(clock.now());
    daemon::Daemon d(two_stacks(dir.path()), dir.path() / "agent.yaml", wiring, notifier, clock,
                     &metrics);
    REQUIRE(d.run_once() == 1);
    CHECK(metrics.metrics().value("agentd_polls_total", {"shop"}) == 1);
    CHECK(metrics.metrics().value("agentd_poll_errors_total", {"shop"}) == 0);
    CHECK(metrics.metrics().value("agentd_polls_total", {"blog"}) == 1);
    CHECK(metrics.metrics().value("agentd_poll_errors_total", {"blog"}) == 1);
}

TEST_CASE("daemon: each cycle's end is published as live progress of its stack", "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    wiring.recorder.outcomes["blog"] = deploy::Outcome::PollError;
    RecordingNotifier notifier;
    daemon::testing::FakeClock clock;
    daemon::ProgressHub progress;
    auto blog = progress.subscribe("blog");
    auto all = progress.subscribe(std::nullopt);
    daemon::Daemon d(two_stacks(dir.path()), dir.path() / "agent.yaml", wiring, notifier, clock,
                     nullptr, &progress);
    REQUIRE(d.run_once() == 1);
    const auto ends = blog->take(sys::Duration::zero()).events;
    REQUIRE(ends.size() == 1);  // recovery is not a cycle
    CHECK(ends[0]["type"] == "end");
    CHECK(ends[0]["stack"] == "blog");
    CHECK(ends[0]["status"] == "poll_error");
    CHECK(ends[0]["at"] == sys::format_rfc3339_ms(clock.now()));
    const auto every = all->take(sys::Duration::zero()).events;
    REQUIRE(every.size() == 2);
    CHECK(every[0]["stack"] == "shop");
    CHECK(every[1]["stack"] == "blog");
}

TEST_CASE("daemon: api.listen serves healthz, readyz and metrics, and no control route",
          "[daemon]") {
    TempDir dir;
    FakeWiring wiring;
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    const int port = free_port();
    config.api.listen = config::Listen{"127.0.0.1", port};
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    ServingDaemon serving(d);
    REQUIRE(eventually([&] { return notifier.sent_starting_with("READY=1"); }));

    auto health = tcp(port, "GET", "/healthz");
    REQUIRE(health.ok());
    CHECK(health->status == 200);
    CHECK(nlohmann::json::parse(health->body)["status"] == "ok");
    auto ready = tcp(port, "GET", "/readyz");
    REQUIRE(ready.ok());
    CHECK((ready->status == 200 || ready->status == 503));  // Docker may not run here
    CHECK(nlohmann::json::parse(ready->body)["checks"][0]["name"] == "state_store");
    // The start-up polls of both stacks are counted.
    REQUIRE(eventually([&] {
        auto m = tcp(port, "GET", "/metrics");
        return m.ok() &&
               m->body.find("agentd_polls_total{stack=\"blog\"} 1") != std::string::npos &&
               m->body.find("agentd_polls_total{stack=\"shop\"} 1") != std::string::npos;
    }));
    const auto before = wiring.recorder.snapshot().size();
    for (const char* path : {"/v1/stacks/shop/sync", "/v1/stacks/shop/rollback", "/v1/reload"}) {
        auto control = tcp(port, "POST", path);
        REQUIRE(control.ok());
        CHECK(control->status == 404);
    }
    auto status = tcp(port, "GET", "/v1/status");
    REQUIRE(status.ok());
    CHECK(status->status == 404);
    CHECK(wiring.recorder.snapshot().size() == before);
}

TEST_CASE("daemon: an api.listen address in use stops the start", "[daemon]") {
    TempDir dir;
    const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(taken, 1) == 0);
    REQUIRE(::getsockname(taken, reinterpret_cast<sockaddr*>(&a), &length) == 0);
    FakeWiring wiring;
    RecordingNotifier notifier;
    sys::SystemClock clock;
    auto config = two_stacks(dir.path());
    config.api.listen = config::Listen{"127.0.0.1", ntohs(a.sin_port)};
    daemon::Daemon d(config, dir.path() / "agent.yaml", wiring, notifier, clock);
    int exit_code = -1;
    std::thread server([&] {
        daemon::block_signals();
        exit_code = d.serve();
    });
    server.join();
    ::close(taken);
    CHECK(exit_code == 1);
    CHECK_FALSE(notifier.sent_starting_with("READY=1"));
    CHECK_FALSE(fs::exists(config.api.socket));  // the socket API was stopped again
}

}  // namespace unit_daemon_daemon_test
