#pragma once
// Prometheus metrics kept in memory: counters, gauges and histograms in families with labels,
// and their text exposition (format 0.0.4). Thread-safe: workers add while the listener
// renders. Names and label names are the caller's constants; label values are escaped.

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::daemon {

/// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

enum class MetricType { Counter, Gauge, Histogram };

/// One family as it is declared: name, help, type, label names, and bucket bounds (upper,
/// ascending, without +Inf) for a histogram.
struct MetricFamily {
    std::string name;
    std::string help;
    MetricType type = MetricType::Counter;
    std::vector<std::string> labels;
    std::vector<double> buckets;
};

/// A sample computed when the metrics are rendered (from the store, the configuration),
/// appended to the family of that name.
struct Sample {
    std::string family;
    LabelValues labels;
    double value = 0;
};

class Metrics {
public:
    /// Declares a family; rendering keeps declaration order. Declaring a name twice throws.
    void declare(MetricFamily family);
    /// Adds `by` (>= 0) to a counter, or sets a gauge.
    void add(std::string_view family, const LabelValues& labels, double by = 1);
    void set(std::string_view family, const LabelValues& labels, double value);
    /// One observation of a histogram.
    void observe(std::string_view family, const LabelValues& labels, double value);
    /// The value of a counter or gauge series (0 when absent); for tests and derived samples.
    double value(std::string_view family, const LabelValues& labels) const;

    /// The text exposition of every family with its series, plus `computed` samples (gauges
    /// of declared families whose values are known only now). A family without any series
    /// is written with its HELP and TYPE only.
    std::string render(const std::vector<Sample>& computed = {}) const;

private:
    struct Histogram {
        std::vector<std::uint64_t> counts;  // per bucket, not cumulative; one more for +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    struct Family {
        MetricFamily declared;
        std::map<LabelValues, double> values;  // counters and gauges
        std::map<LabelValues, Histogram> histograms;
    };
    Family& find(std::string_view name, const LabelValues& labels);
    const Family* find_declared(std::string_view name) const;

    mutable std::mutex m_mutex;
    std::vector<Family> m_families;
};

/// A label value as the exposition format writes it inside quotes: \, " and newline escaped.
std::string escape_label_value(std::string_view value);
/// A sample value: integers without a fraction, +Inf/-Inf/NaN as Prometheus spells them.
std::string format_sample_value(double value);

}  // namespace agentd::daemon
