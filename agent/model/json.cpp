#include "agent/model/json.h"

namespace agentd::model {
namespace {

nlohmann::json time_or_null(const std::optional<sys::TimePoint>& t) {
    return t ? nlohmann::json(sys::format_rfc3339_ms(*t)) : nlohmann::json(nullptr);
}

sys::TimePoint time_from(const nlohmann::json& j) {
    sys::TimePoint t{};
    if (j.is_string()) {
        sys::parse_rfc3339(j.get<std::string>(), t);
    }
    return t;
}

}  // namespace

nlohmann::json to_json(const Deployment& d, bool with_events) {
    nlohmann::json j{
        {"id", d.id},
        {"stack", d.stack},
        {"status", to_string(d.status)},
        {"revision",
         d.release.revision.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.release.revision)},
        {"tag", d.release.tag.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.release.tag)},
        {"images", d.release.images},
        {"trigger", to_string(d.trigger)},
        {"started_at", sys::format_rfc3339_ms(d.started_at)},
        {"finished_at", time_or_null(d.finished_at)},
        {"reason", d.reason},
        {"phase", d.phase},
        {"previous", d.previous ? nlohmann::json(*d.previous) : nlohmann::json(nullptr)},
    };
    if (with_events) {
        auto events = nlohmann::json::array();
        for (const auto& e : d.events) {
            events.push_back(
                {{"at", sys::format_rfc3339_ms(e.at)}, {"phase", e.phase}, {"message", e.message}});
        }
        j["events"] = std::move(events);
    }
    return j;
}

Deployment deployment_from_json(const nlohmann::json& j) {
    Deployment d;
    d.id = j.at("id").get<std::int64_t>();
    d.stack = j.at("stack").get<std::string>();
    d.status = parse_status(j.at("status").get<std::string>()).value_or(Status::Failed);
    if (j.at("revision").is_string()) {
        d.release.revision = j.at("revision").get<std::string>();
    }
    if (j.at("tag").is_string()) {
        d.release.tag = j.at("tag").get<std::string>();
    }
    d.release.images = j.at("images").get<std::map<std::string, std::string>>();
    d.trigger = parse_trigger(j.at("trigger").get<std::string>()).value_or(Trigger::Poll);
    d.started_at = time_from(j.at("started_at"));
    if (j.at("finished_at").is_string()) {
        d.finished_at = time_from(j.at("finished_at"));
    }
    d.reason = j.value("reason", "");
    d.phase = j.value("phase", "");
    if (j.contains("previous") && j.at("previous").is_number_integer()) {
        d.previous = j.at("previous").get<std::int64_t>();
    }
    if (j.contains("events")) {
        for (const auto& e : j.at("events")) {
            d.events.push_back({time_from(e.at("at")), e.at("phase").get<std::string>(),
                                e.at("message").get<std::string>()});
        }
    }
    return d;
}

nlohmann::json to_json(const TagListing& listing) {
    nlohmann::json j{{"tags", listing.tags}};
    if (listing.matches) {
        j["matches"] = *listing.matches;
        j["selected"] =
            listing.selected ? nlohmann::json(*listing.selected) : nlohmann::json(nullptr);
    }
    return j;
}

}  // namespace agentd::model
