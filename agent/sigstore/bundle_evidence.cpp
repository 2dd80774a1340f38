#include "agent/sigstore/bundle_evidence.h"

#include <fmt/format.h>

#include "agent/sys/digest.h"
#include "agent/sys/quote.h"
#include "agent/sigstore/fulcio.h"
#include "agent/sigstore/in_toto.h"

namespace agentd::sigstore {

namespace {

constexpr std::string_view k_sha256_prefix = "sha256:";

sys::Error refused(std::string_view why) {
    return sys::Error::invalid(fmt::format("the Sigstore bundle {}", why));
}

}  // namespace

sys::Result<KeylessEvidence> bundle_keyless_evidence(const SigstoreBundle& bundle,
                                                     std::string_view image_digest) {
    if (bundle.certificates.empty()) {
        return refused("is signed with a public key, not keyless (no certificate)");
    }
    KeylessEvidence out;
    out.certificate = bundle.certificates.front();
    for (std::size_t i = 0; i < bundle.certificates.size(); ++i) {
        auto self_signed = is_self_signed(bundle.certificates[i]);
        if (!self_signed) {
            return refused(fmt::format("certificate {}: {}", i, self_signed.error().message));
        }
        if (*self_signed) {
            return refused(fmt::format(
                "carries a self-signed (root) certificate at position {} of its chain; roots "
                "come from the trusted root only",
                i));
        }
        if (i > 0) {
            out.chain.push_back(bundle.certificates[i]);
        }
    }
    out.tlog_entries = bundle.tlog_entries;

    if (bundle.message_signature) {
        if (auto failed = check_message_digest(*bundle.message_signature, image_digest)) {
            return sys::Error::invalid("the Sigstore bundle's message signature " + *failed);
        }
        // check_message_digest compared the bundle's bytes with image_digest's hex, so this
        // decodes; the evidence carries the caller's digest all the same.
        auto raw = image_digest.substr(0, k_sha256_prefix.size()) == k_sha256_prefix
                       ? sys::hex_decode(image_digest.substr(k_sha256_prefix.size()))
                       : std::nullopt;
        if (!raw || raw->size() != 32) {
            return refused(fmt::format("is checked against {}, which is not a sha256 digest",
                                       sys::quoted(image_digest)));
        }
        out.signature = bundle.message_signature->signature;
        out.content = MessageDigest{sys::Hash::Sha256, std::move(*raw)};
        return out;
    }
    if (!bundle.dsse_envelope) {
        return refused("has no content");
    }
    const auto& envelope = *bundle.dsse_envelope;
    if (envelope.payload_type != k_in_toto_payload_type) {
        return sys::Error::invalid(
            fmt::format("the Sigstore bundle's DSSE payload type is {}, expected {}",
                        sys::quoted(envelope.payload_type), k_in_toto_payload_type));
    }
    auto statement = parse_in_toto_statement(envelope.payload);
    if (!statement) {
        return sys::Error::invalid("the Sigstore bundle's DSSE payload: " +
                                   statement.error().message);
    }
    if (auto failed = check_subject_digest(*statement, image_digest)) {
        return sys::Error::invalid("the Sigstore bundle's in-toto statement " + *failed);
    }
    out.signature = bundle.dsse_signature.sig;
    out.content = envelope;
    return out;
}

}  // namespace agentd::sigstore
