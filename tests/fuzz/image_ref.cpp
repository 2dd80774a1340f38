// Image references (agent/sources/image_ref): they come from compose files, the registry's
// tag lists, the API and the command line.
// Invariants: what parses is valid by the component checks, and its formatted form parses
// back to the same reference.

#include "agent/sources/image_ref.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

bool same(const sources::ImageRef& a, const sources::ImageRef& b) {
    return a.registry == b.registry && a.repository == b.repository && a.tag == b.tag &&
           a.digest == b.digest;
}

std::string formatted(const sources::ImageRef& ref) {
    std::string text = ref.familiar_name();
    if (!ref.tag.empty()) {
        text += ":" + ref.tag;
    }
    if (!ref.digest.empty()) {
        text += "@" + ref.digest;
    }
    return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const auto ref = sources::ImageRef::parse(text);
    // Validators must not crash on anything either.
    (void)sources::valid_tag(text);
    (void)sources::valid_digest(text);
    (void)sources::valid_repository(text);
    if (!ref) {
        FUZZ_CHECK(!ref.error().message.empty());
        return 0;
    }
    FUZZ_CHECK(!ref->registry.empty());
    FUZZ_CHECK(sources::valid_repository(ref->repository));
    FUZZ_CHECK(ref->tag.empty() || sources::valid_tag(ref->tag));
    FUZZ_CHECK(ref->digest.empty() || sources::valid_digest(ref->digest));
    FUZZ_CHECK(!ref->tag.empty() || !ref->digest.empty());

    const auto again = sources::ImageRef::parse(formatted(*ref));
    FUZZ_CHECK(again && same(*again, *ref));
    if (!ref->digest.empty()) {
        const auto pinned = sources::ImageRef::parse(ref->pinned(ref->digest));
        FUZZ_CHECK(pinned && pinned->registry == ref->registry &&
                   pinned->repository == ref->repository && pinned->digest == ref->digest);
    }
    (void)ref->auth_host();
    return 0;
}
