#include "agent/trust/cosign_keyless.h"

#include <fmt/format.h>

#include "agent/sys/digest.h"
#include "agent/sigstore/fulcio.h"

namespace agentd::trust {

namespace {

sys::Error bad_annotation(std::string_view annotation, std::string_view why) {
    return sys::Error::invalid(
        fmt::format("the signature layer's {} annotation {}", annotation, why));
}

}  // namespace

sys::Result<sigstore::KeylessEvidence> cosign_keyless_evidence(const SignatureLayer& layer,
                                                     std::string_view payload) {
    if (layer.signature.empty()) {
        return bad_annotation(k_signature_annotation, "is missing");
    }
    if (layer.certificate.empty()) {
        return bad_annotation(k_certificate_annotation,
                              "is missing: not a keyless signature (signed with a key?)");
    }
    if (layer.bundle.empty()) {
        return bad_annotation(k_bundle_annotation,
                              "is missing: the signature was not logged in a transparency log");
    }
    sigstore::KeylessEvidence out;
    auto leaf = sigstore::certificates_from_pem(layer.certificate);
    if (!leaf) {
        return bad_annotation(k_certificate_annotation,
                              "is not a PEM certificate: " + leaf.error().message);
    }
    if (leaf->size() != 1) {
        return bad_annotation(k_certificate_annotation, "holds more than one certificate");
    }
    out.certificate = std::move(leaf->front());
    if (!layer.chain.empty()) {
        auto chain = sigstore::certificates_from_pem(layer.chain);
        if (!chain) {
            return bad_annotation(k_chain_annotation,
                                  "is not PEM certificates: " + chain.error().message);
        }
        out.chain = std::move(*chain);
    }
    auto entry = sigstore::parse_cosign_bundle(layer.bundle);
    if (!entry) {
        return entry.error();
    }
    out.tlog_entries.push_back(std::move(*entry));
    out.signature = layer.signature;
    out.content = sigstore::MessageDigest{sys::Hash::Sha256, sys::sha256(payload)};
    return out;
}

}  // namespace agentd::trust
