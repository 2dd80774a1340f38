// Tags and version policies (agent/policy): tags come from the registry's tag list and git,
// ranges from the configuration and the API. The input's first line is a semver range, the
// other lines are tags.
// Invariants: a version prints and re-parses to itself; matching ignores build metadata and
// agrees with the range parsed again from its text; select() picks a listed match (or the
// current tag) and lists matches most preferred first; the listing order is a permutation
// without duplicates; natural_compare is antisymmetric.

#include <algorithm>
#include <set>

#include "agent/policy/constraint.h"
#include "agent/policy/tag_order.h"
#include "agent/policy/tag_policy.h"
#include "agent/policy/version.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

int sign(int v) {
    return (v > 0) - (v < 0);
}

void check_selection(const policy::Selection& selection, const std::vector<std::string>& tags,
                     const std::optional<std::string>& current) {
    for (const auto& match : selection.matches) {
        FUZZ_CHECK(std::find(tags.begin(), tags.end(), match) != tags.end());
        FUZZ_CHECK(!policy::is_artifact_tag(match));
    }
    if (selection.selected) {
        FUZZ_CHECK(!selection.matches.empty());
        FUZZ_CHECK(*selection.selected == selection.matches.front() ||
                   (current && *selection.selected == *current && selection.kept_current));
    } else {
        FUZZ_CHECK(selection.matches.empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto lines = fuzz::split_lines(fuzz::as_text(data, size));
    if (lines.empty()) {
        return 0;
    }
    const std::string range = lines.front();
    std::vector<std::string> tags(lines.begin() + 1, lines.end());
    if (tags.size() > 64) {
        tags.resize(64);
    }

    std::vector<policy::Version> versions;
    for (const auto& tag : tags) {
        auto version = policy::Version::parse(tag);
        if (!version) {
            continue;
        }
        const auto again = policy::Version::parse(version->str());
        FUZZ_CHECK(again && again->identical(*version));
        FUZZ_CHECK((*version <=> *version) == std::weak_ordering::equivalent);
        versions.push_back(std::move(*version));
    }
    for (std::size_t i = 0; i + 1 < versions.size(); ++i) {
        const auto ab = versions[i] <=> versions[i + 1];
        const auto ba = versions[i + 1] <=> versions[i];
        FUZZ_CHECK((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0));
    }

    const auto constraint = policy::Constraint::parse(range);
    if (constraint) {
        const auto reparsed = policy::Constraint::parse(constraint->text());
        FUZZ_CHECK(reparsed);
        for (const auto& version : versions) {
            const bool matches = constraint->matches(version);
            FUZZ_CHECK(reparsed->matches(version) == matches);
            const policy::Version without_build(version.major(), version.minor(),
                                                version.patch(), version.prerelease());
            FUZZ_CHECK(constraint->matches(without_build) == matches);
        }
        auto policy = policy::TagPolicy::semver(range);
        FUZZ_CHECK(policy);
        const std::optional<std::string> current =
            tags.empty() ? std::nullopt : std::optional<std::string>(tags.back());
        const auto selection = policy->select(tags, current);
        check_selection(selection, tags, current);
        for (std::size_t i = 0; i + 1 < selection.matches.size(); ++i) {
            const auto a = policy::Version::parse(selection.matches[i]);
            const auto b = policy::Version::parse(selection.matches[i + 1]);
            FUZZ_CHECK(a && b && constraint->matches(*a) && !(*a < *b));
        }
        check_selection(policy->select(tags, std::nullopt, false), tags, std::nullopt);
    } else {
        FUZZ_CHECK(!constraint.error().message.empty());
    }

    // Regex policies with a fixed pattern: the tags are what is untrusted here.
    for (const auto order : {policy::RegexOrder::Numerical, policy::RegexOrder::Alphabetical}) {
        auto regex = policy::TagPolicy::regex(R"(^main-(?P<ts>[0-9.]+)$)", order);
        FUZZ_CHECK(regex);
        check_selection(regex->select(tags, std::nullopt), tags, std::nullopt);
    }

    const auto listed = policy::listing_order(tags);
    FUZZ_CHECK(std::set<std::string>(listed.begin(), listed.end()).size() == listed.size());
    FUZZ_CHECK(std::set<std::string>(listed.begin(), listed.end()) ==
               std::set<std::string>(tags.begin(), tags.end()));
    for (std::size_t i = 0; i + 1 < tags.size(); ++i) {
        FUZZ_CHECK(sign(policy::natural_compare(tags[i], tags[i + 1])) ==
                   -sign(policy::natural_compare(tags[i + 1], tags[i])));
        (void)policy::compare_decimal(tags[i], tags[i + 1]);
    }
    return 0;
}
