#include "agent/sources/registry_answers.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sources/image_ref.h"

namespace agentd::sources {

namespace {

// Docker's minimum token lifetime when the token service does not say.
constexpr auto k_default_token_lifetime = std::chrono::seconds(60);
constexpr auto k_max_token_lifetime = std::chrono::seconds(24 * 3600);
// An image with a signature, an SBOM and attestations per build has a dozen referrers; a
// page or tag index past this is not one agentd reads.
constexpr std::size_t k_max_referrers = 1024;
constexpr std::size_t k_max_annotation_size = 64 * 1024;

/// "a" or "an" before a JSON type name ("an object", "a string").
std::string_view article(std::string_view word) {
    return !word.empty() && std::string_view("aeiou").find(word.front()) != std::string_view::npos
               ? "an"
               : "a";
}

/// A registry's JSON answer; Failed saying why it cannot be read.
sys::Result<nlohmann::json> parse_json(std::string_view body) {
    try {
        return nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        return sys::Error::failed(fmt::format("not JSON (syntax error at byte {})", e.byte));
    } catch (const nlohmann::json::out_of_range&) {
        // Valid JSON that nlohmann cannot hold, such as 1e400: an answer we cannot read.
        return sys::Error::failed("not JSON agentd can read (a number out of range)");
    }
}

}  // namespace

sys::Result<std::vector<std::string>> parse_tag_page(std::string_view body) {
    auto parsed = parse_json(body);
    if (!parsed) {
        return parsed.error();
    }
    const nlohmann::json& json = *parsed;
    if (!json.is_object()) {
        return sys::Error::failed(fmt::format("expected a JSON object, got {} {}",
                                              article(json.type_name()), json.type_name()));
    }
    std::vector<std::string> tags;
    const auto list = json.find("tags");
    if (list == json.end() || list->is_null()) {
        return tags;  // a repository without tags
    }
    if (!list->is_array()) {
        return sys::Error::failed(fmt::format("\"tags\" is {} {}, not a list",
                                              article(list->type_name()), list->type_name()));
    }
    for (const auto& tag : *list) {
        if (!tag.is_string()) {
            return sys::Error::failed(fmt::format("\"tags\" holds {} {}, not only strings",
                                                  article(tag.type_name()), tag.type_name()));
        }
        tags.push_back(tag.get<std::string>());
    }
    return tags;
}

sys::Result<std::vector<Referrer>> parse_referrers_index(std::string_view body) {
    auto parsed = parse_json(body);
    if (!parsed) {
        return parsed.error();
    }
    const nlohmann::json& json = *parsed;
    if (!json.is_object()) {
        return sys::Error::failed(fmt::format("expected an image index (a JSON object), got {} {}",
                                              article(json.type_name()), json.type_name()));
    }
    if (const auto version = json.find("schemaVersion");
        version == json.end() || !version->is_number_integer() || *version != 2) {
        return sys::Error::failed("not an image index (schemaVersion is not 2)");
    }
    const auto manifests = json.find("manifests");
    if (manifests == json.end() || !manifests->is_array()) {
        return sys::Error::failed("not an image index (no \"manifests\" list)");
    }
    if (manifests->size() > k_max_referrers) {
        return sys::Error::failed(
            fmt::format("an image index of {} descriptors; at most {} are read", manifests->size(),
                        k_max_referrers));
    }
    const auto string_at = [](const nlohmann::json& object, const char* key) {
        const auto it = object.find(key);
        return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::vector<Referrer> out;
    for (const auto& descriptor : *manifests) {
        if (!descriptor.is_object()) {
            continue;
        }
        Referrer referrer;
        referrer.digest = string_at(descriptor, "digest");
        if (!valid_digest(referrer.digest)) {
            continue;
        }
        referrer.media_type = string_at(descriptor, "mediaType");
        referrer.artifact_type = string_at(descriptor, "artifactType");
        if (const auto size = descriptor.find("size");
            size != descriptor.end() && size->is_number_unsigned()) {
            referrer.size = size->get<std::uint64_t>();
        }
        if (const auto annotations = descriptor.find("annotations");
            annotations != descriptor.end() && annotations->is_object()) {
            for (const auto& [key, value] : annotations->items()) {
                if (value.is_string() && key.size() + value.get_ref<const std::string&>().size() <=
                                             k_max_annotation_size) {
                    referrer.annotations.emplace(key, value.get<std::string>());
                }
            }
        }
        out.push_back(std::move(referrer));
    }
    return out;
}

sys::Result<TokenAnswer> parse_token_answer(std::string_view body) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object()) {
        return sys::Error::failed("with malformed JSON");
    }
    TokenAnswer answer;
    for (const char* key : {"token", "access_token"}) {
        if (const auto it = json.find(key); it != json.end() && it->is_string()) {
            answer.token = it->get<std::string>();
            if (!answer.token.empty()) {
                break;
            }
        }
    }
    if (answer.token.empty()) {
        return sys::Error::failed("without a token");
    }
    answer.lifetime = k_default_token_lifetime;
    if (const auto it = json.find("expires_in"); it != json.end()) {
        if (!it->is_number()) {
            return sys::Error::failed("with a non-numeric expires_in");
        }
        // Capped at a day: a wild value must neither overflow nor pin a token forever.
        const double seconds = std::min(it->get<double>(), double(k_max_token_lifetime.count()));
        if (seconds > 0) {
            answer.lifetime = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
        }
    }
    if (const auto it = json.find("issued_at"); it != json.end() && it->is_string()) {
        sys::TimePoint issued;
        if (sys::parse_rfc3339(it->get<std::string>(), issued)) {
            answer.issued_at = issued;
        }
    }
    return answer;
}

sys::Result<ManifestStep> parse_manifest_step(std::string_view body, std::string_view os,
                                              std::string_view architecture) {
    auto parsed = parse_json(body);
    if (!parsed) {
        return parsed.error();
    }
    const nlohmann::json& json = *parsed;
    if (!json.is_object()) {
        return sys::Error::failed("expected a manifest (a JSON object)");
    }
    const auto string_at = [](const nlohmann::json& object, const char* key) {
        const auto it = object.find(key);
        return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (const auto manifests = json.find("manifests");
        manifests != json.end() && manifests->is_array()) {
        for (const auto& descriptor : *manifests) {
            const auto platform = descriptor.is_object() ? descriptor.find("platform")
                                                         : nlohmann::json::const_iterator();
            if (!descriptor.is_object() || platform == descriptor.end() || !platform->is_object()) {
                continue;
            }
            const auto digest = string_at(descriptor, "digest");
            if (string_at(*platform, "os") == os &&
                string_at(*platform, "architecture") == architecture && valid_digest(digest)) {
                return ManifestStep{true, digest};
            }
        }
        return sys::Error::failed(
            fmt::format("the image index has no manifest for {}/{}", os, architecture));
    }
    if (const auto config = json.find("config"); config != json.end() && config->is_object()) {
        const auto digest = string_at(*config, "digest");
        if (valid_digest(digest)) {
            return ManifestStep{false, digest};
        }
        return sys::Error::failed("the manifest's config has no valid digest");
    }
    return sys::Error::failed("neither an image manifest (no \"config\") nor an index");
}

std::optional<sys::TimePoint> parse_image_created(std::string_view config) {
    const auto json = nlohmann::json::parse(config, nullptr, false);
    if (!json.is_object()) {
        return std::nullopt;
    }
    const auto created = json.find("created");
    sys::TimePoint t;
    if (created == json.end() || !created->is_string() ||
        !sys::parse_rfc3339(created->get<std::string>(), t)) {
        return std::nullopt;
    }
    constexpr auto k_year_2000 = std::chrono::seconds(946684800);
    if (t < sys::TimePoint(k_year_2000)) {
        return std::nullopt;
    }
    return t;
}

}  // namespace agentd::sources
