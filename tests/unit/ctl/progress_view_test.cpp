#include "agent/ctl/progress_view.h"

#include <catch2/catch.hpp>

namespace unit_ctl_progress_view_test {

using namespace agentd;
using nlohmann::json;

namespace {

json pull(std::int64_t current, std::int64_t total, int done_layers, bool done) {
    return {
        {"at", "2026-12-04T13:05:09Z"}, {"stack", "shop"},    {"deployment", 7}, {"type", "pull"},
        {"image", "r/web@sha256:aa"},   {"current", current}, {"total", total},  {"layers", 2},
        {"layers_done", done_layers},   {"done", done}};
}

}  // namespace

TEST_CASE("progress view: phases, gate samples and the end, one line each", "[ctl]") {
    ctl::ProgressView view(false);
    CHECK(view.show({{"type", "subscribed"}, {"stack", "shop"}}).empty());
    CHECK(view.show({{"type", "heartbeat"}}).empty());
    CHECK(view.show({{"at", "2026-12-04T13:05:08Z"},
                     {"stack", "shop"},
                     {"deployment", 7},
                     {"type", "phase"},
                     {"phase", "pull"},
                     {"message", "1 image(s)"}}) == "13:05:08 shop #7 pull: 1 image(s)\n");
    json gate = {{"at", "2026-12-04T13:05:10Z"},
                 {"stack", "shop"},
                 {"deployment", 7},
                 {"type", "gate"},
                 {"sample", 2},
                 {"good", false},
                 {"good_in_a_row", 0},
                 {"containers",
                  {{{"service", "web"}, {"state", "running"}, {"health", "starting"}},
                   {{"service", "worker"}, {"state", "running"}, {"health", ""}}}},
                 {"fatal", json::object()},
                 {"pending", {{"web", "health starting"}}}};
    CHECK(view.show(gate) ==
          "13:05:10 shop #7 gate: sample 2: web running starting, worker running "
          "(waiting: web: health starting)\n");
    gate["pending"] = json::object();
    gate["good_in_a_row"] = 3;
    CHECK(view.show(gate) ==
          "13:05:10 shop #7 gate: sample 2: web running starting, worker running (good, 3 in "
          "a row)\n");
    gate["fatal"] = {{"web", "exited with code 1"}};
    CHECK(view.show(gate).find("(failing: web: exited with code 1)") != std::string::npos);
    CHECK(view.show({{"at", "2026-12-04T13:05:20Z"},
                     {"stack", "shop"},
                     {"deployment", 7},
                     {"type", "end"},
                     {"status", "succeeded"},
                     {"message", "deployed"}}) ==
          "13:05:20 shop #7 cycle ended: succeeded: deployed\n");
    CHECK(view.show({{"type", "dropped"}, {"count", 4}}) ==
          "(4 progress lines dropped: the display fell behind)\n");
    // Control characters from outside never reach the terminal.
    CHECK(view.show({{"stack", "shop"},
                     {"type", "phase"},
                     {"phase", "verify"},
                     {"message", "bad\x1b]0;title\x07"}}) == "shop verify: bad?]0;title?\n");
}

TEST_CASE("progress view: on a terminal a pull line is rewritten in place until done", "[ctl]") {
    ctl::ProgressView view(true);
    CHECK(view.show(pull(36445, 1069170, 0, false)) ==
          "13:05:09 shop #7 pulling r/web@sha256:aa 3% (36.4 kB of 1.1 MB, 0/2 layers)");
    CHECK(view.show(pull(1069170, 1369462, 1, false)) ==
          "\r\x1b[K13:05:09 shop #7 pulling r/web@sha256:aa 78% (1.1 MB of 1.4 MB, 1/2 layers)");
    // Another line ends the pull line first.
    CHECK(view.show({{"stack", "shop"}, {"type", "phase"}, {"phase", "x"}, {"message", "y"}}) ==
          "\nshop x: y\n");
    CHECK(view.show(pull(1369462, 1369462, 2, true)) ==
          "13:05:09 shop #7 pulled r/web@sha256:aa 100% (1.4 MB of 1.4 MB, 2/2 layers)\n");
    CHECK(view.finish().empty());
    CHECK_FALSE(view.show(pull(1, 2, 0, false)).empty());
    CHECK(view.finish() == "\n");  // a pull line left open is ended
}

TEST_CASE("progress view: without a terminal only a pull's end is written", "[ctl]") {
    ctl::ProgressView view(false);
    CHECK(view.show(pull(36445, 1069170, 0, false)).empty());
    CHECK(view.show(pull(1369462, 1369462, 2, true)) ==
          "13:05:09 shop #7 pulled r/web@sha256:aa 100% (1.4 MB of 1.4 MB, 2/2 layers)\n");
    CHECK(ctl::format_bytes(12) == "12 B");
    CHECK(ctl::format_bytes(300292) == "300.3 kB");
    CHECK(ctl::format_bytes(2500000000) == "2.5 GB");
}

}  // namespace unit_ctl_progress_view_test
