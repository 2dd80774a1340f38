#include "agent/model/json.h"

#include <catch2/catch.hpp>

namespace unit_model_json_test {

using namespace agentd;

TEST_CASE("model: deployment JSON has the SPEC fields and round-trips", "[model]") {
    model::Deployment d;
    d.id = 7;
    d.stack = "shop";
    d.status = model::Status::RolledBack;
    d.release.revision = std::string(40, 'a');
    d.release.images = {{"web", "ghcr.io/acme/web@sha256:" + std::string(64, '1')}};
    d.trigger = model::Trigger::Webhook;
    sys::parse_rfc3339("2026-11-22T07:00:00Z", d.started_at);
    d.reason = "gate: web: unhealthy";
    d.previous = 6;
    d.events.push_back({d.started_at, "gate", "waiting"});

    const auto j = model::to_json(d, true);
    for (const char* field : {"id", "stack", "status", "revision", "tag", "images", "trigger",
                              "started_at", "finished_at", "reason", "events"}) {
        CHECK(j.contains(field));
    }
    CHECK(j["status"] == "rolled_back");
    CHECK(j["trigger"] == "webhook");
    CHECK(j["tag"].is_null());
    CHECK(j["finished_at"].is_null());
    CHECK(j["started_at"] == "2026-11-22T07:00:00.000Z");
    CHECK(j["events"][0]["phase"] == "gate");
    CHECK_FALSE(model::to_json(d).contains("events"));

    const auto back = model::deployment_from_json(j);
    CHECK(back.id == 7);
    CHECK(back.status == model::Status::RolledBack);
    CHECK(back.release == d.release);
    CHECK(back.previous == 6);
    CHECK(back.events.size() == 1);
    CHECK(back.started_at == d.started_at);
    // Milliseconds, as the store keeps them (users read phase durations from them).
    d.events[0].at = d.started_at + std::chrono::milliseconds(1234);
    const auto precise = model::to_json(d, true);
    CHECK(precise["events"][0]["at"] == "2026-11-22T07:00:01.234Z");
    CHECK(model::deployment_from_json(precise).events[0].at == d.events[0].at);
}

TEST_CASE("model: status names and release keys", "[model]") {
    for (auto s : {model::Status::Waiting, model::Status::InProgress, model::Status::Succeeded,
                   model::Status::Superseded, model::Status::RolledBack, model::Status::Failed,
                   model::Status::Rejected}) {
        CHECK(model::parse_status(model::to_string(s)) == s);
    }
    CHECK_FALSE(model::parse_status("done").has_value());
    CHECK(model::is_final(model::Status::Superseded));
    CHECK_FALSE(model::is_final(model::Status::Waiting));
    model::Release a{"abc", "", {{"web", "r@sha256:1"}}};
    model::Release b = a;
    CHECK(a.key() == b.key());
    b.images["web"] = "r@sha256:2";
    CHECK(a.key() != b.key());
}

}  // namespace unit_model_json_test
