#include "agent/daemon/liveness.h"

#include <catch2/catch.hpp>

#include "agent/daemon/progress_reporting.h"
#include "tests/unit/daemon/fake_clock.h"

namespace unit_daemon_liveness_test {

using namespace agentd;
using namespace std::chrono_literals;
using daemon::BusyWorker;

namespace {

sys::TimePoint at(int seconds) {
    return sys::TimePoint(std::chrono::seconds(1'700'000'000 + seconds));
}

BusyWorker busy(int worker, const std::string& step, int since, int deadline) {
    return {worker, "shop", step, at(since), at(deadline)};
}

/// A process runner that only tells what Liveness saw while it ran.
class PeekingRunner final : public sys::ProcessRunner {
public:
    explicit PeekingRunner(daemon::Liveness& l) : m_liveness(l) {}
    std::vector<BusyWorker> seen;
    sys::Result<sys::ProcessResult> run(const sys::ProcessSpec&) override {
        seen = m_liveness.busy();
        return sys::ProcessResult{0, false, "", ""};
    }

private:
    daemon::Liveness& m_liveness;
};

}  // namespace

TEST_CASE("liveness: ping while every busy worker is within its deadline", "[daemon]") {
    CHECK(daemon::decide_watchdog({}, at(100)).ping);
    const std::vector<BusyWorker> workers{busy(0, "compose up", 0, 100), busy(1, "GET x", 50, 90)};
    CHECK(daemon::decide_watchdog(workers, at(90)).ping);  // at the deadline is not past it
    const auto past = daemon::decide_watchdog(workers, at(91));
    CHECK_FALSE(past.ping);
    REQUIRE(past.stuck);
    CHECK(past.stuck->worker == 1);
    // The one most overdue is named.
    const auto both = daemon::decide_watchdog(workers, at(500));
    REQUIRE(both.stuck);
    CHECK(both.stuck->step == "GET x");
}

TEST_CASE("liveness: a stuck step is reported once, a new one again", "[daemon]") {
    daemon::WatchdogMonitor monitor;
    const std::vector<BusyWorker> stuck{busy(0, "compose up", 0, 10)};
    CHECK_FALSE(monitor.check(stuck, at(5)).report);
    auto first = monitor.check(stuck, at(11));
    CHECK_FALSE(first.decision.ping);
    CHECK(first.report);
    CHECK_FALSE(monitor.check(stuck, at(12)).report);
    CHECK_FALSE(monitor.check(stuck, at(100)).decision.ping);
    // Another step gets stuck: reported.
    CHECK(monitor.check({busy(0, "git fetch", 200, 210)}, at(211)).report);
    // Recovered, then stuck again in the same step name later: reported again.
    CHECK(monitor.check({}, at(300)).decision.ping);
    CHECK(monitor.check({busy(0, "git fetch", 200, 210)}, at(301)).report);
}

TEST_CASE("liveness: a step's deadline is its own timeout plus the margin", "[daemon]") {
    daemon::testing::FakeClock clock;
    daemon::Liveness liveness(clock);
    CHECK(liveness.busy().empty());
    liveness.begin_step(0, "outside a job", 1s);  // ignored: the worker is idle
    CHECK(liveness.busy().empty());

    liveness.begin_job(0, "shop");
    const auto start = clock.now();
    auto now = liveness.busy();
    REQUIRE(now.size() == 1);
    CHECK(now[0].step == "between steps");
    CHECK(now[0].deadline == start + daemon::k_liveness_margin);

    liveness.begin_step(0, "docker-compose up -d", 30min);
    clock.sleep_for(20min);
    now = liveness.busy();
    CHECK(now[0].step == "docker-compose up -d");
    CHECK(now[0].deadline == start + 30min + daemon::k_liveness_margin);
    // A helper run inside the call has its own deadline, then the outer call's applies again.
    liveness.begin_step(0, "docker-credential-pass get", 30s);
    CHECK(liveness.busy()[0].deadline == clock.now() + 30s + daemon::k_liveness_margin);
    liveness.end_step(0);
    CHECK(liveness.busy()[0].step == "docker-compose up -d");
    liveness.end_step(0);
    CHECK(liveness.busy()[0].deadline == clock.now() + daemon::k_liveness_margin);
    liveness.end_job(0);
    CHECK(liveness.busy().empty());
}

TEST_CASE("liveness: the decorators report a call with its own timeout", "[daemon]") {
    daemon::testing::FakeClock clock;
    daemon::Liveness liveness(clock);
    PeekingRunner inner(liveness);
    daemon::ReportingProcessRunner runner(inner, daemon::Pulse(liveness, 3));
    liveness.begin_job(3, "shop");
    REQUIRE(runner.run({.argv = {"docker-compose", "up", "-d"}, .timeout = 30min}).ok());
    REQUIRE(inner.seen.size() == 1);
    CHECK(inner.seen[0].worker == 3);
    CHECK(inner.seen[0].step == "docker-compose up -d");
    CHECK(inner.seen[0].deadline == clock.now() + 30min + daemon::k_liveness_margin);
    CHECK(liveness.busy()[0].step == "between steps");
}

TEST_CASE("liveness: step names keep secrets out", "[daemon]") {
    sys::HttpRequest request;
    request.method = "GET";
    request.url = "https://user:secret@registry.example/v2/app/tags/list?token=abc#x";
    CHECK(daemon::describe_request(request) == "GET https://registry.example/v2/app/tags/list");
    request.url = "http://127.0.0.1:8080/healthz";
    CHECK(daemon::describe_request(request) == "GET http://127.0.0.1:8080/healthz");
    sys::ProcessSpec spec{.argv = {"docker-credential-pass", "get"},
                          .env = {{"SECRET", "x"}},
                          .stdin_data = "registry.example"};
    CHECK(daemon::describe_process(spec) == "docker-credential-pass get");
    spec.argv = {"x", std::string(500, 'a')};
    CHECK(daemon::describe_process(spec).size() == 160);
}

TEST_CASE("liveness: a git signature check is reported with the git allowance", "[daemon]") {
    daemon::testing::FakeClock clock;
    daemon::Liveness liveness(clock);
    struct Peeking final : trust::GitVerifier {
        daemon::Liveness& liveness;
        std::vector<std::string> steps;
        explicit Peeking(daemon::Liveness& l) : liveness(l) {}
        sys::Result<trust::GitSignature> verify_tag(const config::GitSource&, const std::string&,
                                                    const std::string&) override {
            steps.push_back(liveness.busy()[0].step);
            CHECK(liveness.busy()[0].deadline ==
                  liveness_clock_now() + daemon::k_git_step_allowance + daemon::k_liveness_margin);
            return sys::Error::invalid("tag v1: not signed");
        }
        sys::Result<trust::GitSignature> verify_commit(const config::GitSource&,
                                                       const std::string&) override {
            steps.push_back(liveness.busy()[0].step);
            return trust::GitSignature{};
        }
        std::function<sys::TimePoint()> liveness_clock_now;
    } inner(liveness);
    inner.liveness_clock_now = [&] { return clock.now(); };
    daemon::ReportingGitVerifier verifier(inner, daemon::Pulse(liveness, 0));
    liveness.begin_job(0, "shop");
    CHECK_FALSE(verifier.verify_tag({}, "v1", std::string(40, 'a')).ok());
    CHECK(verifier.verify_commit({}, std::string(40, 'b')).ok());
    CHECK(inner.steps == std::vector<std::string>{"git verify tag v1",
                                                  "git verify commit " + std::string(40, 'b')});
    CHECK(liveness.busy()[0].step == "between steps");
}

}  // namespace unit_daemon_liveness_test
