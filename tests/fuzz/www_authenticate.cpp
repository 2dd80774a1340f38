// The registry's HTTP headers (agent/sources/registry_headers, registry_retry): the
// WWW-Authenticate challenge, the Link of the next tag page, Retry-After. All come from the
// network; the same bytes are fed to each parser.
// Invariants: challenge schemes and parameter names are lower case and non-empty; a
// Retry-After is never negative.

#include "agent/sources/registry_headers.h"
#include "agent/sources/registry_retry.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    for (const auto& challenge : sources::parse_www_authenticate(text)) {
        FUZZ_CHECK(!challenge.scheme.empty());
        FUZZ_CHECK(challenge.scheme == sources::ascii_lower(challenge.scheme));
        for (const auto& [name, value] : challenge.params) {
            FUZZ_CHECK(!name.empty() && name == sources::ascii_lower(name));
        }
    }
    (void)sources::parse_next_link(text);

    sys::HttpResponse response;
    response.status = 429;
    response.headers.emplace_back("retry-after", std::string(text));
    const auto now = std::chrono::system_clock::from_time_t(1'790'000'000);
    if (const auto after = sources::retry_after(response, now)) {
        FUZZ_CHECK(after->count() >= 0);
    }
    return 0;
}
