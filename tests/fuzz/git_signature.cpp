// Signed git objects (agent/trust/git_signature): the raw tag objects of a mirror come from
// whoever can push to the deploy repository.
// Invariants: a split's payload and signature put together are the object again, the signature
// starts a signature block at a line start, and the payload holds no later block start.

#include "agent/trust/git_signature.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    (void)trust::object_header(text, "tag");
    (void)trust::object_header(text, "object");
    (void)trust::signature_method(text);
    const auto split = trust::split_tag_signature(text);
    if (!split) {
        // No line starts a block (the SSH one stands for all four).
        FUZZ_CHECK(text.rfind("-----BEGIN SSH SIGNATURE-----", 0) != 0 &&
                   text.find("\n-----BEGIN SSH SIGNATURE-----") == std::string_view::npos);
        return 0;
    }
    FUZZ_CHECK(split->payload + split->signature == text);
    FUZZ_CHECK(split->payload.empty() || split->payload.back() == '\n');
    FUZZ_CHECK(split->signature.rfind("-----BEGIN ", 0) == 0);
    const auto header = trust::object_header(split->payload, "tag");
    FUZZ_CHECK(!header || header->find('\n') == std::string::npos);
    return 0;
}
