// The registry's JSON answers (agent/sources/registry_answers): a tags/list page, a token
// service's answer, a referrers index, a manifest read for its config and an image config's
// `created`. The same bytes are fed to each.
// Invariants: a parsed token is non-empty with a positive lifetime of at most a day; errors
// never quote the body (it may hold a secret), so their length does not grow with it; every
// referrer listed has a valid digest, and there are at most 1024 of them; a manifest step names
// a valid digest; a created time is never before 2000.

#include "agent/sources/image_ref.h"
#include "agent/sources/registry_answers.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    constexpr std::size_t k_max_error = 120;

    const auto tags = sources::parse_tag_page(text);
    if (!tags) {
        FUZZ_CHECK(!tags.error().message.empty() && tags.error().message.size() < k_max_error);
    }

    const auto referrers = sources::parse_referrers_index(text);
    if (referrers) {
        FUZZ_CHECK(referrers->size() <= 1024);
        for (const auto& referrer : *referrers) {
            FUZZ_CHECK(sources::valid_digest(referrer.digest));
        }
    } else {
        FUZZ_CHECK(!referrers.error().message.empty() &&
                   referrers.error().message.size() < k_max_error);
    }

    const auto step = sources::parse_manifest_step(text, "linux", "amd64");
    if (step) {
        FUZZ_CHECK(sources::valid_digest(step->digest));
    } else {
        FUZZ_CHECK(!step.error().message.empty() && step.error().message.size() < k_max_error);
    }
    if (const auto created = sources::parse_image_created(text)) {
        FUZZ_CHECK(*created >= sys::TimePoint(std::chrono::seconds(946684800)));
    }

    const auto token = sources::parse_token_answer(text);
    if (token) {
        FUZZ_CHECK(!token->token.empty());
        FUZZ_CHECK(token->lifetime.count() > 0);
        FUZZ_CHECK(token->lifetime <= std::chrono::hours(24));
    } else {
        FUZZ_CHECK(!token.error().message.empty() && token.error().message.size() < k_max_error);
    }
    return 0;
}
