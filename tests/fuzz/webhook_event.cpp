// Webhook deliveries (agent/webhook): the event header and the JSON body as a forge, or anyone
// who holds the webhook secret, sends them; then the stacks they are matched to.
// Input: parts cut at "\n--\n": provider ("github", "gitea", "gitlab"; anything else is
// GitHub), the event header's value, the body, a signature header's value.
// Invariants: an error is InvalidInput with a message that never holds a control character;
// an event keeps the header's name, its refs and URLs are bounded and printable, a tag push's
// ref is a tag's, images are lower-case references that parse; git URL keys are lower case;
// matching names only stacks of the targets; a signature made with another key never checks.

#include <algorithm>

#include "agent/sources/image_ref.h"
#include "agent/webhook/event.h"
#include "agent/webhook/git_url.h"
#include "agent/webhook/match.h"
#include "agent/webhook/signature.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

bool printable(std::string_view text) {
    return std::none_of(text.begin(), text.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool lower_case(std::string_view text) {
    return std::none_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

const std::vector<webhook::Target>& targets() {
    static const std::vector<webhook::Target> all = [] {
        std::vector<webhook::Target> t(3);
        t[0].stack = "shop";
        t[0].git_url = "git@github.com:acme/deploy.git";
        t[0].branch = "main";
        t[1].stack = "prod";
        t[1].git_url = "https://github.com/acme/deploy";
        t[1].follow = webhook::Target::Follow::Tags;
        t[2].stack = "web";
        t[2].images = {{"ghcr.io", "acme/web"}, {"registry-1.docker.io", "library/nginx"}};
        return t;
    }();
    return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));
    const auto provider = webhook::provider_named(parts[0]).value_or(webhook::Provider::GitHub);
    webhook::Headers headers;
    if (parts.size() > 1) {
        headers.set(webhook::event_headers(provider).front(), parts[1]);
    }
    const std::string body = parts.size() > 2 ? parts[2] : "{}";

    if (parts.size() > 3) {
        headers.set(webhook::signature_headers(provider).front(), parts[3]);
        const auto checked = webhook::check_signature(provider, "fuzz secret", headers, body);
        FUZZ_CHECK(checked || checked.error().kind == sys::Error::Kind::Unauthorized);
        FUZZ_CHECK(checked || printable(checked.error().message));
    }
    // A signature made with another key never passes.
    webhook::Headers forged = headers;
    const std::string other = webhook::hmac_sha256("another secret", body);
    forged.set(webhook::signature_headers(provider).front(),
               provider == webhook::Provider::GitLab ? "another secret" : "sha256=" + other);
    FUZZ_CHECK(!webhook::check_signature(provider, "fuzz secret", forged, body));

    const auto event = webhook::parse_event(provider, headers, body);
    if (!event) {
        FUZZ_CHECK(event.error().kind == sys::Error::Kind::InvalidInput);
        FUZZ_CHECK(!event.error().message.empty() && printable(event.error().message));
        return 0;
    }
    FUZZ_CHECK(parts.size() > 1 && event->name == parts[1]);
    FUZZ_CHECK(printable(event->ref) && event->ref.size() <= 1024);
    if (event->kind == webhook::EventKind::Push || event->kind == webhook::EventKind::TagPush) {
        FUZZ_CHECK(!event->ref.empty());
    }
    if (event->kind == webhook::EventKind::TagPush) {
        FUZZ_CHECK(event->ref.rfind("refs/tags/", 0) == 0);
    }
    for (const auto& url : event->repository_urls) {
        FUZZ_CHECK(!url.empty() && url.size() <= 2048 && printable(url));
        const auto key = webhook::git_url_key(url);
        FUZZ_CHECK(!key || (!key->empty() && lower_case(*key)));
    }
    for (const auto& image : event->images) {
        FUZZ_CHECK(lower_case(image) && sources::ImageRef::parse(image));
    }
    for (const auto& stack : webhook::match(*event, targets())) {
        FUZZ_CHECK(stack == "shop" || stack == "prod" || stack == "web");
    }
    return 0;
}
