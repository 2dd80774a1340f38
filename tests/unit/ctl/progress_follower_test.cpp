#include "agent/ctl/progress_follower.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace unit_ctl_progress_follower_test {

using namespace agentd;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// The events stream of an agentd: sends `lines` (the request id the follower chose put in
/// where "REQUEST" stands), then stays open until the follower aborts it, as a stream does.
/// Records how it ended.
class StreamingAgentd final : public sys::HttpClient {
public:
    explicit StreamingAgentd(std::vector<std::string> lines) : m_lines(std::move(lines)) {}
    std::string request_id;  ///< set by the test before the lines go out

    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        for (std::string line : m_lines) {
            if (const auto at = line.find("REQUEST"); at != std::string::npos) {
                line.replace(at, 7, request_id);
            }
            if (!request.on_body(line + "\n")) {
                aborted_at_line = true;
                return sys::HttpResponse{200, {}, ""};
            }
        }
        // Open until the follower is told to stop (finish(), its destructor).
        while (!request.cancelled()) {
            std::this_thread::sleep_for(1ms);
        }
        cancelled = true;
        return sys::Error::failed("aborted");
    }

    std::atomic<bool> aborted_at_line = false;  ///< on_body returned false: ended by a line
    std::atomic<bool> cancelled = false;        ///< ended by cancelled(): stopped from outside

private:
    std::vector<std::string> m_lines;
};

}  // namespace

TEST_CASE("progress follower: its own end line (its request id) ends the stream at once",
          "[ctl]") {
    // agentd publishes the end before it answers the request, so the follower sees it before
    // finish() tells it the outcome: the id says it is its own.
    StreamingAgentd agentd({R"({"type":"subscribed","stack":"shop"})",
                            R"({"type":"end","stack":"shop","deployment":3,"status":"noop"})",
                            R"({"type":"phase","stack":"shop","deployment":4,"phase":"pull"})",
                            R"({"type":"end","stack":"shop","deployment":4,"status":"succeeded",)"
                            R"("request":"REQUEST"})",
                            R"({"type":"phase","stack":"shop","deployment":5,"phase":"pull"})"});
    std::mutex mutex;
    std::vector<json> shown;
    std::optional<json> end;
    {
        ctl::ProgressFollower follower(agentd, "/run/agentd/api.sock", "shop",
                                       [&](const json& line) {
                                           const std::lock_guard lock(mutex);
                                           shown.push_back(line);
                                       });
        agentd.request_id = follower.request();
        REQUIRE(follower.start(5s));
        // The answer of the request: the end line has normally arrived by now.
        end = follower.finish({{"outcome", "succeeded"}, {"deployment", 4}}, 5s);
    }
    CHECK(agentd.aborted_at_line);
    CHECK_FALSE(agentd.cancelled);
    REQUIRE(end);
    CHECK((*end)["deployment"] == 4);
    REQUIRE(shown.size() == 4);  // nothing after its own end
    CHECK(shown.back()["request"] == agentd.request_id);
}

TEST_CASE("progress follower: request ids are random per follower", "[ctl]") {
    StreamingAgentd agentd({});
    ctl::ProgressFollower a(agentd, "/s", "shop", [](const json&) {});
    ctl::ProgressFollower b(agentd, "/s", "shop", [](const json&) {});
    CHECK(a.request().size() == 16);
    CHECK(a.request() != b.request());
}

}  // namespace unit_ctl_progress_follower_test
