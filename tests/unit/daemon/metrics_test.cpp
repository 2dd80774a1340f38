// The Prometheus text exposition written by Metrics.

#include "agent/daemon/metrics.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace unit_daemon_metrics_test {

using namespace agentd::daemon;

TEST_CASE("metrics: counters and gauges render with HELP, TYPE and escaped labels", "[daemon]") {
    Metrics m;
    m.declare({"x_requests_total",
               "Requests\nby code \\ host.",
               MetricType::Counter,
               {"host", "code"},
               {}});
    m.declare({"x_up", "Up.", MetricType::Gauge, {}, {}});
    m.declare({"x_empty_total", "Nothing yet.", MetricType::Counter, {"stack"}, {}});
    m.add("x_requests_total", {"r.example:5000", "200"});
    m.add("x_requests_total", {"r.example:5000", "200"}, 2);
    m.add("x_requests_total", {"a\"b\\c\nd", "error"});
    m.set("x_up", {}, 1);
    CHECK(m.value("x_requests_total", {"r.example:5000", "200"}) == 3);
    CHECK(m.render() ==
          "# HELP x_requests_total Requests\\nby code \\\\ host.\n"
          "# TYPE x_requests_total counter\n"
          "x_requests_total{host=\"a\\\"b\\\\c\\nd\",code=\"error\"} 1\n"
          "x_requests_total{host=\"r.example:5000\",code=\"200\"} 3\n"
          "# HELP x_up Up.\n"
          "# TYPE x_up gauge\n"
          "x_up 1\n"
          "# HELP x_empty_total Nothing yet.\n"
          "# TYPE x_empty_total counter\n");
}

TEST_CASE("metrics: a histogram's buckets are cumulative, with +Inf, sum and count", "[daemon]") {
    Metrics m;
    m.declare({"x_seconds", "Time.", MetricType::Histogram, {"stack"}, {0.5, 1, 5}});
    m.observe("x_seconds", {"shop"}, 0.5);  // on a bound: counted in it (le)
    m.observe("x_seconds", {"shop"}, 0.7);
    m.observe("x_seconds", {"shop"}, 30);
    CHECK(m.render() ==
          "# HELP x_seconds Time.\n"
          "# TYPE x_seconds histogram\n"
          "x_seconds_bucket{stack=\"shop\",le=\"0.5\"} 1\n"
          "x_seconds_bucket{stack=\"shop\",le=\"1\"} 2\n"
          "x_seconds_bucket{stack=\"shop\",le=\"5\"} 2\n"
          "x_seconds_bucket{stack=\"shop\",le=\"+Inf\"} 3\n"
          "x_seconds_sum{stack=\"shop\"} 31.2\n"
          "x_seconds_count{stack=\"shop\"} 3\n");
}

TEST_CASE("metrics: computed samples join their family at render time", "[daemon]") {
    Metrics m;
    m.declare({"x_info", "Info.", MetricType::Gauge, {"stack", "revision"}, {}});
    m.set("x_info", {"shop", "old"}, 1);
    const auto text = m.render({{"x_info", {"blog", "abc"}, 1}, {"x_other", {"x"}, 1}});
    CHECK(text ==
          "# HELP x_info Info.\n# TYPE x_info gauge\n"
          "x_info{stack=\"blog\",revision=\"abc\"} 1\n"
          "x_info{stack=\"shop\",revision=\"old\"} 1\n");
}

TEST_CASE("metrics: undeclared families and wrong label counts are programming errors",
          "[daemon]") {
    Metrics m;
    m.declare({"x_total", "X.", MetricType::Counter, {"stack"}, {}});
    CHECK_THROWS_AS(m.declare({"x_total", "again", MetricType::Counter, {}, {}}), std::logic_error);
    CHECK_THROWS_AS(m.add("y_total", {"shop"}), std::logic_error);
    CHECK_THROWS_AS(m.add("x_total", {}), std::logic_error);
}

TEST_CASE("metrics: sample values as Prometheus spells them", "[daemon]") {
    CHECK(format_sample_value(3) == "3");
    CHECK(format_sample_value(0.25) == "0.25");
    CHECK(format_sample_value(1796378741.5) == "1796378741.5");
    CHECK(format_sample_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_sample_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_sample_value(std::nan("")) == "NaN");
}

}  // namespace unit_daemon_metrics_test
