#include "agent/sigstore/sigstore_bundle.h"

#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/quote.h"
#include "agent/sigstore/json_fields.h"

namespace agentd::sigstore {

namespace {

using Json = nlohmann::json;

// Real bundles have one log entry and one certificate (or a chain of two or three); rekor_entry
// bounds a log entry's proof.
constexpr std::size_t k_max_tlog_entries = 16;
constexpr std::size_t k_max_certificates = 16;
constexpr std::size_t k_max_timestamps = 16;
constexpr std::string_view k_media_type_base = "application/vnd.dev.sigstore.bundle";

namespace jf = json_fields;

sys::Error invalid(const std::string& path, std::string_view what) {
    return sys::Error::invalid(fmt::format("the Sigstore bundle's {} {}", path, what));
}

/// A json_fields error, which names the field by its path, said of the bundle.
sys::Error in_bundle(const sys::Error& error) {
    return sys::Error::invalid(fmt::format("the Sigstore bundle's {}", error.message));
}

std::string element(std::string_view path, std::size_t i) {
    return fmt::format("{}[{}]", path, i);
}

/// The DER `rawBytes` of each object of `list` (a certificate list, a timestamp list).
sys::Result<std::vector<std::string>> each_bytes(const Json& list, const std::string& path,
                                                 std::string_view key) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_object()) {
            return invalid(element(path, i), "is not an object");
        }
        auto der = jf::base64(list[i], element(path, i), key);
        if (!der) {
            return in_bundle(der.error());
        }
        out.push_back(std::move(*der));
    }
    return out;
}

sys::Result<void> parse_verification_material(const Json& json, const std::string& path,
                                              SigstoreBundle& out) {
    const bool has_certificate = jf::find(json, "certificate") != nullptr;
    const bool has_chain = jf::find(json, "x509CertificateChain") != nullptr;
    const bool has_key = jf::find(json, "publicKey") != nullptr;
    const int materials =
        static_cast<int>(has_certificate) + static_cast<int>(has_chain) + static_cast<int>(has_key);
    if (materials == 0) {
        return invalid(path,
                       "has none of \"certificate\", \"x509CertificateChain\" and \"publicKey\"");
    }
    if (materials > 1) {
        return invalid(path,
                       "has more than one of \"certificate\", \"x509CertificateChain\" and "
                       "\"publicKey\"");
    }
    if (has_certificate) {
        auto certificate = jf::object(json, path, "certificate");
        if (!certificate) {
            return in_bundle(certificate.error());
        }
        auto der = jf::base64(**certificate, jf::path_of(path, "certificate"), "rawBytes");
        if (!der) {
            return in_bundle(der.error());
        }
        out.certificates.push_back(std::move(*der));
    } else if (has_chain) {
        auto chain = jf::object(json, path, "x509CertificateChain");
        if (!chain) {
            return in_bundle(chain.error());
        }
        const auto chain_path = jf::path_of(path, "x509CertificateChain");
        auto certificates =
            jf::array(**chain, chain_path, "certificates", k_max_certificates, true);
        if (!certificates) {
            return in_bundle(certificates.error());
        }
        if ((*certificates)->empty()) {
            return invalid(jf::path_of(chain_path, "certificates"), "is empty");
        }
        auto ders = each_bytes(**certificates, jf::path_of(chain_path, "certificates"), "rawBytes");
        if (!ders) {
            return ders.error();
        }
        out.certificates = std::move(*ders);
        out.certificate_chain = true;
    } else {
        auto key = jf::object(json, path, "publicKey");
        if (!key) {
            return in_bundle(key.error());
        }
        auto hint = jf::optional_string(**key, jf::path_of(path, "publicKey"), "hint");
        if (!hint) {
            return in_bundle(hint.error());
        }
        out.public_key_hint = std::move(*hint);
    }

    auto entries = jf::array(json, path, "tlogEntries", k_max_tlog_entries, true);
    if (!entries) {
        return in_bundle(entries.error());
    }
    for (std::size_t i = 0; i < (*entries)->size(); ++i) {
        auto entry =
            parse_bundle_tlog_entry((**entries)[i], element(jf::path_of(path, "tlogEntries"), i));
        if (!entry) {
            return in_bundle(entry.error());
        }
        out.tlog_entries.push_back(std::move(*entry));
    }

    if (jf::find(json, "timestampVerificationData") != nullptr) {
        auto timestamps = jf::object(json, path, "timestampVerificationData");
        if (!timestamps) {
            return in_bundle(timestamps.error());
        }
        const auto timestamps_path = jf::path_of(path, "timestampVerificationData");
        auto list =
            jf::array(**timestamps, timestamps_path, "rfc3161Timestamps", k_max_timestamps, true);
        if (!list) {
            return in_bundle(list.error());
        }
        auto ders = each_bytes(**list, jf::path_of(timestamps_path, "rfc3161Timestamps"),
                               "signedTimestamp");
        if (!ders) {
            return ders.error();
        }
        out.rfc3161_timestamps = std::move(*ders);
    }
    return {};
}

sys::Result<MessageSignature> parse_message_signature(const Json& json, const std::string& path) {
    MessageSignature out;
    auto digest = jf::object(json, path, "messageDigest");
    if (!digest) {
        return in_bundle(digest.error());
    }
    const auto digest_path = jf::path_of(path, "messageDigest");
    const Json* algorithm = jf::find(**digest, "algorithm");
    // The enum by name, or by number as protobuf's JSON mapping also allows.
    static constexpr std::array<std::string_view, 4> k_names = {"HASH_ALGORITHM_UNSPECIFIED",
                                                                "SHA2_256", "SHA2_384", "SHA2_512"};
    if (algorithm == nullptr) {
        out.digest_algorithm = k_names[0];
    } else if (algorithm->is_string()) {
        out.digest_algorithm = algorithm->get<std::string>();
    } else if (algorithm->is_number_unsigned() && algorithm->get<std::uint64_t>() < 4) {
        out.digest_algorithm = k_names[algorithm->get<std::size_t>()];
    } else {
        return invalid(jf::path_of(digest_path, "algorithm"), "is not a hash algorithm name");
    }
    auto bytes = jf::base64(**digest, digest_path, "digest");
    if (!bytes) {
        return in_bundle(bytes.error());
    }
    out.digest = std::move(*bytes);
    auto signature = jf::base64(json, path, "signature");
    if (!signature) {
        return in_bundle(signature.error());
    }
    out.signature = std::move(*signature);
    return out;
}

sys::Result<void> parse_dsse_envelope(const Json& json, const std::string& path,
                                      SigstoreBundle& bundle) {
    DsseEnvelope out;
    auto payload = jf::base64(json, path, "payload");
    if (!payload) {
        return in_bundle(payload.error());
    }
    out.payload = std::move(*payload);
    auto type = jf::string(json, path, "payloadType");
    if (!type) {
        return in_bundle(type.error());
    }
    out.payload_type = std::move(*type);
    auto signatures = jf::array(json, path, "signatures", k_max_certificates, true);
    if (!signatures) {
        return in_bundle(signatures.error());
    }
    const auto signatures_path = jf::path_of(path, "signatures");
    if ((*signatures)->size() != 1) {
        return invalid(signatures_path,
                       fmt::format("has {} signatures; Sigstore signs with exactly one",
                                   (*signatures)->size()));
    }
    const Json& signature = (**signatures)[0];
    const auto signature_path = element(signatures_path, 0);
    if (!signature.is_object()) {
        return invalid(signature_path, "is not an object");
    }
    auto sig = jf::base64(signature, signature_path, "sig");
    if (!sig) {
        return in_bundle(sig.error());
    }
    auto keyid = jf::optional_string(signature, signature_path, "keyid");
    if (!keyid) {
        return in_bundle(keyid.error());
    }
    bundle.dsse_signature = DsseSignature{std::move(*sig), std::move(*keyid)};
    bundle.dsse_envelope = std::move(out);
    return {};
}

}  // namespace

std::optional<int> sigstore_bundle_version(std::string_view media_type) {
    for (int minor = 1; minor <= 3; ++minor) {
        if (media_type == fmt::format("{}+json;version=0.{}", k_media_type_base, minor) ||
            media_type == fmt::format("{}.v0.{}+json", k_media_type_base, minor)) {
            return minor;
        }
    }
    return std::nullopt;
}

sys::Result<SigstoreBundle> parse_sigstore_bundle(std::string_view body) {
    auto parsed = jf::parse_object(body, "the Sigstore bundle", k_max_bundle_size);
    if (!parsed) {
        return parsed.error();
    }
    const Json& json = *parsed;
    const std::string root = "bundle";
    SigstoreBundle out;
    auto media_type = jf::optional_string(json, root, "mediaType");
    if (!media_type) {
        return in_bundle(media_type.error());
    }
    const auto minor = sigstore_bundle_version(*media_type);
    if (!minor) {
        return sys::Error::invalid(fmt::format(
            "the Sigstore bundle's mediaType {} is not a bundle version agentd reads (v0.1 to "
            "v0.3, e.g. {})",
            sys::quoted(*media_type), k_bundle_v03_media_type));
    }
    out.media_type = std::move(*media_type);
    out.minor_version = *minor;

    auto material = jf::object(json, root, "verificationMaterial");
    if (!material) {
        return in_bundle(material.error());
    }
    if (auto ok =
            parse_verification_material(**material, jf::path_of(root, "verificationMaterial"), out);
        !ok) {
        return ok.error();
    }

    const bool has_message = jf::find(json, "messageSignature") != nullptr;
    const bool has_dsse = jf::find(json, "dsseEnvelope") != nullptr;
    if (has_message == has_dsse) {
        return sys::Error::invalid(
            fmt::format("the Sigstore bundle has {} of \"messageSignature\" and \"dsseEnvelope\"",
                        has_message ? "both" : "neither"));
    }
    if (has_message) {
        auto content = jf::object(json, root, "messageSignature");
        if (!content) {
            return in_bundle(content.error());
        }
        auto signature = parse_message_signature(**content, jf::path_of(root, "messageSignature"));
        if (!signature) {
            return signature.error();
        }
        out.message_signature = std::move(*signature);
    } else {
        auto content = jf::object(json, root, "dsseEnvelope");
        if (!content) {
            return in_bundle(content.error());
        }
        if (auto ok = parse_dsse_envelope(**content, jf::path_of(root, "dsseEnvelope"), out); !ok) {
            return ok.error();
        }
    }

    // What each version promises about its log entries and material (sigstore-go's and
    // @sigstore/bundle's rules; the stricter of the two where they differ).
    for (std::size_t i = 0; i < out.tlog_entries.size(); ++i) {
        const auto& entry = out.tlog_entries[i];
        const std::string path = fmt::format("verificationMaterial.tlogEntries[{}]", i);
        if (out.minor_version == 1 && entry.signed_entry_timestamp.empty()) {
            return invalid(path, "has no inclusionPromise (a v0.1 bundle needs one)");
        }
        if (out.minor_version >= 2 && !entry.inclusion_proof) {
            return invalid(path, fmt::format("has no inclusionProof (a v0.{} bundle needs one)",
                                             out.minor_version));
        }
    }
    if (out.minor_version >= 3 && out.certificate_chain) {
        return sys::Error::invalid(
            "the Sigstore bundle's verificationMaterial is an x509CertificateChain, which a v0.3 "
            "bundle may not carry (one \"certificate\" only)");
    }
    return out;
}

std::optional<std::string> check_message_digest(const MessageSignature& signature,
                                                std::string_view digest) {
    if (signature.digest_algorithm != "SHA2_256") {
        return fmt::format("has a {} digest, expected SHA2_256",
                           sys::quoted(signature.digest_algorithm));
    }
    static constexpr std::string_view k_hex = "0123456789abcdef";
    std::string hex;
    for (const unsigned char c : signature.digest) {
        hex += k_hex[c >> 4];
        hex += k_hex[c & 0xf];
    }
    if ("sha256:" + hex != digest) {
        return fmt::format("is over digest sha256:{}, expected {}", hex, digest);
    }
    return std::nullopt;
}

}  // namespace agentd::sigstore
