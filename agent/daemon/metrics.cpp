#include "agent/daemon/metrics.h"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace agentd::daemon {
namespace {

std::string_view type_name(MetricType type) {
    switch (type) {
        case MetricType::Counter:
            return "counter";
        case MetricType::Gauge:
            return "gauge";
        case MetricType::Histogram:
            return "histogram";
    }
    return "untyped";
}

/// `{a="x",b="y"}` (with `extra` as one more label, for `le`), or "" with no labels at all.
std::string label_text(const std::vector<std::string>& names, const LabelValues& values,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
        out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i],
                           escape_label_value(values[i]));
    }
    if (!extra_name.empty()) {
        out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_name, extra_value);
    }
    return out.empty() ? "" : "{" + out + "}";
}

/// HELP text escaping: backslash and newline only.
std::string escape_help(std::string_view help) {
    std::string out;
    for (const char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    for (const char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string format_sample_value(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        return fmt::format("{}", static_cast<long long>(value));
    }
    return fmt::format("{}", value);
}

void Metrics::declare(MetricFamily family) {
    std::lock_guard lock(m_mutex);
    if (find_declared(family.name) != nullptr) {
        throw std::logic_error("metric family declared twice: " + family.name);
    }
    m_families.push_back(Family{std::move(family), {}, {}});
}

const Metrics::Family* Metrics::find_declared(std::string_view name) const {
    for (const auto& f : m_families) {
        if (f.declared.name == name) {
            return &f;
        }
    }
    return nullptr;
}

Metrics::Family& Metrics::find(std::string_view name, const LabelValues& labels) {
    auto* family = const_cast<Family*>(find_declared(name));
    if (family == nullptr || labels.size() != family->declared.labels.size()) {
        // A programming error: the families are this program's constants.
        throw std::logic_error(
            fmt::format("metric {}: undeclared, or {} label values", name, labels.size()));
    }
    return *family;
}

void Metrics::add(std::string_view family, const LabelValues& labels, double by) {
    std::lock_guard lock(m_mutex);
    find(family, labels).values[labels] += by;
}

void Metrics::set(std::string_view family, const LabelValues& labels, double value) {
    std::lock_guard lock(m_mutex);
    find(family, labels).values[labels] = value;
}

void Metrics::observe(std::string_view family, const LabelValues& labels, double value) {
    std::lock_guard lock(m_mutex);
    auto& f = find(family, labels);
    auto& h = f.histograms[labels];
    const auto& bounds = f.declared.buckets;
    h.counts.resize(bounds.size() + 1);
    std::size_t i = 0;
    while (i < bounds.size() && value > bounds[i]) {
        ++i;
    }
    ++h.counts[i];
    h.sum += value;
    ++h.count;
}

double Metrics::value(std::string_view family, const LabelValues& labels) const {
    std::lock_guard lock(m_mutex);
    const Family* f = find_declared(family);
    if (f == nullptr) {
        return 0;
    }
    const auto it = f->values.find(labels);
    return it == f->values.end() ? 0 : it->second;
}

std::string Metrics::render(const std::vector<Sample>& computed) const {
    std::lock_guard lock(m_mutex);
    std::string out;
    out.reserve(4096);
    for (const auto& f : m_families) {
        const auto& d = f.declared;
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", d.name, escape_help(d.help), d.name,
                           type_name(d.type));
        if (d.type == MetricType::Histogram) {
            for (const auto& [labels, h] : f.histograms) {
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i <= d.buckets.size(); ++i) {
                    cumulative += i < h.counts.size() ? h.counts[i] : 0;
                    const std::string le =
                        i < d.buckets.size() ? format_sample_value(d.buckets[i]) : "+Inf";
                    out += fmt::format("{}_bucket{} {}\n", d.name,
                                       label_text(d.labels, labels, "le", le), cumulative);
                }
                out += fmt::format("{}_sum{} {}\n", d.name, label_text(d.labels, labels),
                                   format_sample_value(h.sum));
                out +=
                    fmt::format("{}_count{} {}\n", d.name, label_text(d.labels, labels), h.count);
            }
            continue;
        }
        // Computed samples take the place of stored ones with the same labels.
        std::map<LabelValues, double> series = f.values;
        for (const auto& s : computed) {
            if (s.family == d.name && s.labels.size() == d.labels.size()) {
                series[s.labels] = s.value;
            }
        }
        for (const auto& [labels, value] : series) {
            out += fmt::format("{}{} {}\n", d.name, label_text(d.labels, labels),
                               format_sample_value(value));
        }
    }
    return out;
}

}  // namespace agentd::daemon
