#include "agent/sigstore/in_toto.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/quote.h"

namespace agentd::sigstore {

namespace {

// A statement about a release names a handful of artifacts; SLSA provenance for a whole build
// may name many files, still far below this.
constexpr std::size_t k_max_subjects = 1024;

sys::Error invalid(std::string_view what) {
    return sys::Error::invalid(fmt::format("the in-toto statement {}", what));
}

std::string lower(std::string text) {
    for (char& c : text) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return text;
}

}  // namespace

sys::Result<InTotoStatement> parse_in_toto_statement(std::string_view payload) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(payload);
    } catch (const nlohmann::json::parse_error& e) {
        return invalid(fmt::format("is not JSON (syntax error at byte {})", e.byte));
    } catch (const nlohmann::json::exception&) {
        return invalid("is not JSON agentd can read");
    }
    if (!json.is_object()) {
        return invalid("is not a JSON object");
    }
    InTotoStatement out;
    const auto type = json.find("_type");
    const std::string type_text =
        type != json.end() && type->is_string() ? type->get<std::string>() : std::string();
    if (type_text != k_in_toto_statement_v1 && type_text != k_in_toto_statement_v01) {
        return invalid(fmt::format("has _type {}, expected {} or {}",
                                   type == json.end()  ? std::string("(none)")
                                   : type->is_string() ? sys::quoted(type_text)
                                                       : std::string("(not a string)"),
                                   k_in_toto_statement_v1, k_in_toto_statement_v01));
    }
    out.type = type_text;
    const auto subjects = json.find("subject");
    if (subjects == json.end() || !subjects->is_array() || subjects->empty()) {
        return invalid("has no \"subject\" array with at least one subject");
    }
    if (subjects->size() > k_max_subjects) {
        return invalid(
            fmt::format("has {} subjects; at most {} are read", subjects->size(), k_max_subjects));
    }
    for (std::size_t i = 0; i < subjects->size(); ++i) {
        const auto& subject = (*subjects)[i];
        if (!subject.is_object()) {
            return invalid(fmt::format("subject[{}] is not an object", i));
        }
        InTotoSubject parsed;
        if (const auto name = subject.find("name"); name != subject.end()) {
            if (!name->is_string()) {
                return invalid(fmt::format("subject[{}].name is not a string", i));
            }
            parsed.name = name->get<std::string>();
        }
        const auto digest = subject.find("digest");
        if (digest == subject.end() || !digest->is_object() || digest->empty()) {
            return invalid(fmt::format("subject[{}] has no \"digest\" object", i));
        }
        for (const auto& [algorithm, value] : digest->items()) {
            if (!value.is_string()) {
                return invalid(fmt::format("subject[{}].digest.{} is not a string", i,
                                           sys::quoted(algorithm)));
            }
            parsed.digest.emplace(algorithm, value.get<std::string>());
        }
        out.subjects.push_back(std::move(parsed));
    }
    if (const auto predicate_type = json.find("predicateType"); predicate_type != json.end()) {
        if (!predicate_type->is_string()) {
            return invalid("predicateType is not a string");
        }
        out.predicate_type = predicate_type->get<std::string>();
    }
    return out;
}

std::optional<std::string> check_subject_digest(const InTotoStatement& statement,
                                                std::string_view digest) {
    constexpr std::string_view k_prefix = "sha256:";
    const std::string_view hex =
        digest.substr(0, k_prefix.size()) == k_prefix ? digest.substr(k_prefix.size()) : "";
    std::vector<std::string> seen;
    for (const auto& subject : statement.subjects) {
        const auto it = subject.digest.find("sha256");
        if (it == subject.digest.end()) {
            continue;
        }
        if (!hex.empty() && lower(it->second) == hex) {
            return std::nullopt;
        }
        seen.push_back(it->second);
    }
    if (seen.empty()) {
        return fmt::format("has no subject with a sha256 digest, expected {}", digest);
    }
    return fmt::format(
        "is about {}{}, expected {}", sys::quoted("sha256:" + seen.front()),
        seen.size() > 1 ? fmt::format(" (and {} other subjects)", seen.size() - 1) : std::string(),
        digest);
}

}  // namespace agentd::sigstore
