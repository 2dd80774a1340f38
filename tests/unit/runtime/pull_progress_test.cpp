#include "agent/runtime/pull_progress.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace unit_runtime_pull_progress_test {

using namespace agentd::runtime;

namespace {

/// Docker 20.10's stream for POST /images/create of an image of two layers (1069170 and 300292
/// bytes compressed) from a local registry, as recorded, neither layer present before.
const std::vector<std::string> k_recorded_pull = {
    R"({"status":"Pulling from live-sample/app","id":"1"})",
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"753f56c52594"})",
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"2867caaa6222"})",
    R"({"status":"Downloading","progressDetail":{"current":36445,"total":1069170},"progress":"[=\u003e                                                 ]  36.45kB/1.069MB","id":"753f56c52594"})",
    R"({"status":"Downloading","progressDetail":{"current":1069170,"total":1069170},"progress":"[==================================================\u003e]  1.069MB/1.069MB","id":"753f56c52594"})",
    R"({"status":"Verifying Checksum","progressDetail":{},"id":"753f56c52594"})",
    R"({"status":"Download complete","progressDetail":{},"id":"753f56c52594"})",
    R"({"status":"Extracting","progressDetail":{"current":32768,"total":1069170},"progress":"[=\u003e                                                 ]  32.77kB/1.069MB","id":"753f56c52594"})",
    R"({"status":"Downloading","progressDetail":{"current":3678,"total":300292},"progress":"[\u003e                                                  ]  3.678kB/300.3kB","id":"2867caaa6222"})",
    R"({"status":"Downloading","progressDetail":{"current":300292,"total":300292},"progress":"[==================================================\u003e]  300.3kB/300.3kB","id":"2867caaa6222"})",
    R"({"status":"Verifying Checksum","progressDetail":{},"id":"2867caaa6222"})",
    R"({"status":"Download complete","progressDetail":{},"id":"2867caaa6222"})",
    R"({"status":"Extracting","progressDetail":{"current":65536,"total":1069170},"progress":"[===\u003e                                               ]  65.54kB/1.069MB","id":"753f56c52594"})",
    R"({"status":"Extracting","progressDetail":{"current":1069170,"total":1069170},"progress":"[==================================================\u003e]  1.069MB/1.069MB","id":"753f56c52594"})",
    R"({"status":"Extracting","progressDetail":{"current":1069170,"total":1069170},"progress":"[==================================================\u003e]  1.069MB/1.069MB","id":"753f56c52594"})",
    R"({"status":"Pull complete","progressDetail":{},"id":"753f56c52594"})",
    R"({"status":"Extracting","progressDetail":{"current":32768,"total":300292},"progress":"[=====\u003e                                             ]  32.77kB/300.3kB","id":"2867caaa6222"})",
    R"({"status":"Extracting","progressDetail":{"current":163840,"total":300292},"progress":"[===========================\u003e                       ]  163.8kB/300.3kB","id":"2867caaa6222"})",
    R"({"status":"Extracting","progressDetail":{"current":300292,"total":300292},"progress":"[==================================================\u003e]  300.3kB/300.3kB","id":"2867caaa6222"})",
    R"({"status":"Pull complete","progressDetail":{},"id":"2867caaa6222"})",
    R"({"status":"Digest: sha256:56450ca0520f9787f722a9a4bc3351c7b7c4a3585c134b38d6cffcf20599e198"})",
    R"({"status":"Status: Downloaded newer image for 127.0.0.1:5000/live-sample/app:1"})"};

}  // namespace

TEST_CASE("pull progress: the recorded Engine stream sums to both layers, done at the end",
          "[runtime][pull]") {
    PullTracker tracker("127.0.0.1:5000/live-sample/app@sha256:56450ca0");
    std::vector<PullProgress> seen;
    for (const auto& line : k_recorded_pull) {
        if (tracker.take(line)) {
            seen.push_back(tracker.progress());
        }
    }
    REQUIRE(!seen.empty());
    CHECK(seen.front().layers == 1);  // "Pulling fs layer" of the first layer
    CHECK(seen.front().current == 0);
    // The first layer's first figure: 36445 of its 1069170 bytes, two layers named.
    const auto first_bytes =
        std::find_if(seen.begin(), seen.end(), [](const PullProgress& p) { return p.current > 0; });
    REQUIRE(first_bytes != seen.end());
    CHECK(first_bytes->current == 36445);
    CHECK(first_bytes->total == 1069170);
    CHECK(first_bytes->layers == 2);
    CHECK(first_bytes->layers_done == 0);
    // Bytes never go back, and never pass the total known so far.
    for (std::size_t i = 1; i < seen.size(); ++i) {
        CHECK(seen[i].current >= seen[i - 1].current);
        CHECK(seen[i].current <= seen[i].total);
    }
    const auto last = tracker.progress();
    CHECK(last.total == 1069170 + 300292);
    CHECK(last.current == last.total);
    CHECK(last.layers == 2);
    CHECK(last.layers_done == 2);
    CHECK_FALSE(last.done);  // the stream is not over until the answer is
    tracker.finish();
    CHECK(tracker.progress().done);
    CHECK(tracker.progress().current == 1069170 + 300292);
}

TEST_CASE("pull progress: layers already present count as done without bytes", "[runtime][pull]") {
    PullTracker tracker("r/app@sha256:aa");
    CHECK_FALSE(tracker.take(R"({"status":"Pulling from app","id":"sha256:aa"})"));
    CHECK(tracker.take(R"({"status":"Already exists","progressDetail":{},"id":"a1"})"));
    CHECK(tracker.take(R"({"status":"Pulling fs layer","progressDetail":{},"id":"b2"})"));
    CHECK(tracker.take(
        R"({"status":"Downloading","progressDetail":{"current":10,"total":40},"id":"b2"})"));
    CHECK(tracker.progress().layers == 2);
    CHECK(tracker.progress().layers_done == 1);
    CHECK(tracker.progress().current == 10);
    CHECK(tracker.progress().total == 40);
    // A layer whose download completes without a last Downloading figure counts in full.
    CHECK(tracker.take(R"({"status":"Download complete","progressDetail":{},"id":"b2"})"));
    CHECK(tracker.progress().current == 40);
    // Lines that are not a layer's change nothing; junk is ignored.
    CHECK_FALSE(tracker.take(R"({"status":"Digest: sha256:aa"})"));
    CHECK_FALSE(tracker.take("not json"));
    CHECK_FALSE(tracker.take(R"({"error":"boom","errorDetail":{"message":"boom"}})"));
    CHECK_FALSE(tracker.take(
        R"({"status":"Downloading","progressDetail":{"current":40,"total":40},"id":"b2"})"));
}

}  // namespace unit_runtime_pull_progress_test
