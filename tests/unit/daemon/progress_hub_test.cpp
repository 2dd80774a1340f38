#include "agent/daemon/progress_hub.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "agent/daemon/event_stream.h"
#include "agent/daemon/progress_publisher.h"
#include "tests/unit/daemon/fake_clock.h"

namespace unit_daemon_progress_hub_test {

using namespace agentd;
using daemon::ProgressHub;
using nlohmann::json;

namespace {

constexpr auto k_now = sys::Duration::zero();

json event(const std::string& stack, int n) {
    return {{"stack", stack}, {"type", "phase"}, {"n", n}};
}

std::vector<int> numbers(const daemon::ProgressBatch& batch) {
    std::vector<int> out;
    for (const auto& e : batch.events) {
        out.push_back(e["n"].get<int>());
    }
    return out;
}

}  // namespace

TEST_CASE("progress hub: a subscriber sees its stack only, every stack without one",
          "[daemon][progress]") {
    ProgressHub hub;
    auto shop = hub.subscribe("shop");
    auto all = hub.subscribe(std::nullopt);
    hub.publish("shop", event("shop", 1));
    hub.publish("blog", event("blog", 2));
    hub.publish("shop", event("shop", 3));
    CHECK(numbers(shop->take(k_now)) == std::vector<int>{1, 3});
    CHECK(numbers(all->take(k_now)) == std::vector<int>{1, 2, 3});
    // Taken once: the queue is empty afterwards.
    const auto again = shop->take(k_now);
    CHECK(again.events.empty());
    CHECK(again.dropped == 0);
    CHECK_FALSE(again.closed);
}

TEST_CASE("progress hub: a full queue drops the oldest and says how many", "[daemon][progress]") {
    ProgressHub hub(3);
    auto slow = hub.subscribe("shop");
    auto other = hub.subscribe("shop");
    for (int n = 1; n <= 5; ++n) {
        hub.publish("shop", event("shop", n));  // never waits for the slow reader
    }
    const auto batch = slow->take(k_now);
    CHECK(numbers(batch) == std::vector<int>{3, 4, 5});
    CHECK(batch.dropped == 2);
    // The count is reported once, then starts again.
    hub.publish("shop", event("shop", 6));
    const auto next = slow->take(k_now);
    CHECK(numbers(next) == std::vector<int>{6});
    CHECK(next.dropped == 0);
    // Each subscriber has its own queue: the other one lost 3 of the 6.
    const auto others = other->take(k_now);
    CHECK(numbers(others) == std::vector<int>{4, 5, 6});
    CHECK(others.dropped == 3);
}

TEST_CASE("progress hub: unsubscribing on destruction, closing ends every subscription",
          "[daemon][progress]") {
    ProgressHub hub;
    {
        auto gone = hub.subscribe("shop");
        CHECK(hub.subscribers() == 1);
    }
    CHECK(hub.subscribers() == 0);
    hub.publish("shop", event("shop", 1));  // nobody: nothing kept

    auto waiting = hub.subscribe("shop");
    hub.publish("shop", event("shop", 2));
    // A reader blocked in take() wakes up when the hub closes.
    std::thread closer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        hub.close();
    });
    auto first = waiting->take(std::chrono::seconds(5));
    CHECK(numbers(first) == std::vector<int>{2});  // what was queued is still handed out
    const auto started = std::chrono::steady_clock::now();
    auto last = waiting->take(std::chrono::seconds(30));
    closer.join();
    CHECK(last.closed);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
    // Subscribing after the close: closed from the start.
    CHECK(hub.subscribe("shop")->take(k_now).closed);
    CHECK(hub.subscribers() == 0);
}

TEST_CASE("event stream: greets, reports drops, sends heartbeats when idle, ends when closed",
          "[daemon][progress]") {
    ProgressHub hub(2);
    daemon::EventStream stream(hub.subscribe("shop"), "shop");
    const auto greeting = stream.next(k_now);
    REQUIRE(greeting);
    CHECK(json::parse(*greeting) == json{{"type", "subscribed"}, {"stack", "shop"}});
    for (int n = 1; n <= 3; ++n) {
        hub.publish("shop", event("shop", n));
    }
    const auto lines = stream.next(k_now);
    REQUIRE(lines);
    CHECK(*lines == "{\"count\":1,\"type\":\"dropped\"}\n" + event("shop", 2).dump() + "\n" +
                        event("shop", 3).dump() + "\n");
    // Nothing for a while: "" (asked again), then a heartbeat once k_heartbeat has passed.
    const auto step = daemon::EventStream::k_heartbeat / 2;
    CHECK(stream.next(step) == std::string());
    const auto beat = stream.next(step);
    REQUIRE(beat);
    CHECK(json::parse(*beat)["type"] == "heartbeat");
    hub.close();
    CHECK_FALSE(stream.next(k_now).has_value());
}

TEST_CASE("progress publisher: phases, pulls (at most every 200ms per image), gate samples",
          "[daemon][progress]") {
    ProgressHub hub;
    daemon::testing::FakeClock clock;
    daemon::ProgressPublisher publisher(hub, clock, nullptr);
    auto sub = hub.subscribe("shop");
    model::Deployment d;
    d.id = 7;
    d.stack = "shop";
    publisher.recorded(d, {clock.t, "pull", "1 image(s)"});
    runtime::PullProgress pull{"r/web@sha256:aa", 10, 100, 2, 0, false};
    publisher.pulling(d, pull);
    pull.current = 20;
    publisher.pulling(d, pull);  // too soon: not published
    clock.t += std::chrono::milliseconds(250);
    pull.current = 30;
    publisher.pulling(d, pull);
    pull.current = 40;
    pull.layers_done = 1;  // a layer done: published however soon
    publisher.pulling(d, pull);
    pull = {"r/web@sha256:aa", 100, 100, 2, 2, true};
    publisher.pulling(d, pull);
    deploy::GateSample sample;
    sample.number = 3;
    runtime::ContainerState web;
    web.service = "web";
    web.state = "running";
    web.health = "starting";
    sample.containers.push_back(web);
    sample.verdict.pending["web"] = "health starting";
    publisher.gate_sample(d, sample);

    const auto batch = sub->take(k_now);
    REQUIRE(batch.events.size() == 6);
    const auto& phase = batch.events[0];
    CHECK(phase["type"] == "phase");
    CHECK(phase["stack"] == "shop");
    CHECK(phase["deployment"] == 7);
    CHECK(phase["phase"] == "pull");
    CHECK(phase["message"] == "1 image(s)");
    CHECK(phase["at"] == sys::format_rfc3339_ms(clock.t - std::chrono::milliseconds(250)));
    std::vector<std::int64_t> currents;
    for (std::size_t i = 1; i <= 4; ++i) {
        CHECK(batch.events[i]["type"] == "pull");
        CHECK(batch.events[i]["image"] == "r/web@sha256:aa");
        CHECK(batch.events[i]["total"] == 100);
        currents.push_back(batch.events[i]["current"].get<std::int64_t>());
    }
    CHECK(currents == std::vector<std::int64_t>{10, 30, 40, 100});
    CHECK(batch.events[4]["done"] == true);
    CHECK(batch.events[4]["layers_done"] == 2);
    const auto& gate = batch.events[5];
    CHECK(gate["type"] == "gate");
    CHECK(gate["sample"] == 3);
    CHECK(gate["good"] == false);
    CHECK(gate["containers"] == json::array({{{"service", "web"},
                                              {"state", "running"},
                                              {"health", "starting"},
                                              {"exit_code", 0},
                                              {"restarts", 0}}}));
    CHECK(gate["pending"] == json{{"web", "health starting"}});

    const auto end = daemon::end_line("shop", {deploy::Outcome::RolledBack, 7, "web: unhealthy"},
                                      "req-1", clock.t);
    CHECK(end["type"] == "end");
    CHECK(end["status"] == "rolled_back");
    CHECK(end["deployment"] == 7);
    CHECK(end["message"] == "web: unhealthy");
    CHECK(end["request"] == "req-1");
    const auto noop = daemon::end_line("shop", {deploy::Outcome::Noop, std::nullopt, ""}, "", clock.t);
    CHECK(noop["deployment"].is_null());
    CHECK_FALSE(noop.contains("request"));
}

}  // namespace unit_daemon_progress_hub_test
