#include "agent/trust/sigstore_bundle.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/quote.h"
#include "agent/trust/json_fields.h"

namespace agentd::trust {

namespace {

using Json = nlohmann::json;

// Real bundles have one log entry, one certificate (or a chain of two or three) and a proof of
// some 20-30 hashes (a tree of a few billion entries has 32 levels).
constexpr std::size_t k_max_tlog_entries = 16;
constexpr std::size_t k_max_certificates = 16;
constexpr std::size_t k_max_proof_hashes = 64;
constexpr std::size_t k_max_timestamps = 16;
constexpr std::string_view k_media_type_base = "application/vnd.dev.sigstore.bundle";

sys::Error invalid(const std::string& path, std::string_view what) {
    return sys::Error::invalid(fmt::format("the Sigstore bundle's {} {}", path, what));
}

/// Protobuf's JSON mapping of bytes (json_fields.h); an empty string is empty bytes.
std::optional<std::string> decode_bytes(std::string_view text) {
    if (text.empty()) {
        return std::string();
    }
    return json_fields::decode_base64(text);
}

/// The JSON of one bundle, walked with the path of each field for the error messages. A key
/// that is absent or null is absent (protobuf's JSON mapping).
class Reader {
public:
    Reader(const Json& json, std::string path) : m_json(json), m_path(std::move(path)) {}

    const std::string& path() const { return m_path; }
    std::string at(std::string_view key) const { return fmt::format("{}.{}", m_path, key); }

    const Json* find(std::string_view key) const {
        const auto it = m_json.find(key);
        return it == m_json.end() || it->is_null() ? nullptr : &*it;
    }
    bool has(std::string_view key) const { return find(key) != nullptr; }

    /// The object at `key`; nullopt when absent.
    sys::Result<std::optional<Reader>> object(std::string_view key) const {
        const Json* value = find(key);
        if (value == nullptr) {
            return std::optional<Reader>{};
        }
        if (!value->is_object()) {
            return invalid(at(key), "is not an object");
        }
        return std::optional<Reader>{Reader(*value, at(key))};
    }
    sys::Result<Reader> required_object(std::string_view key) const {
        auto found = object(key);
        if (!found) {
            return found.error();
        }
        if (!*found) {
            return invalid(at(key), "is missing");
        }
        return std::move(**found);
    }

    /// The array at `key` (empty when absent), at most `max` long.
    sys::Result<std::vector<const Json*>> array(std::string_view key, std::size_t max) const {
        std::vector<const Json*> out;
        const Json* value = find(key);
        if (value == nullptr) {
            return out;
        }
        if (!value->is_array()) {
            return invalid(at(key), "is not an array");
        }
        if (value->size() > max) {
            return invalid(at(key),
                           fmt::format("has {} elements; at most {} are read", value->size(), max));
        }
        for (const auto& element : *value) {
            out.push_back(&element);
        }
        return out;
    }

    /// The string at `key` ("" when absent).
    sys::Result<std::string> string(std::string_view key) const {
        const Json* value = find(key);
        if (value == nullptr) {
            return std::string();
        }
        if (!value->is_string()) {
            return invalid(at(key), "is not a string");
        }
        return value->get<std::string>();
    }

    /// The bytes at `key`, base64-decoded ("" when absent).
    sys::Result<std::string> bytes(std::string_view key) const {
        auto text = string(key);
        if (!text) {
            return text.error();
        }
        auto decoded = decode_bytes(*text);
        if (!decoded) {
            return invalid(at(key), "is not base64");
        }
        return std::move(*decoded);
    }
    sys::Result<std::string> required_bytes(std::string_view key) const {
        auto value = bytes(key);
        if (value && value->empty()) {
            return invalid(at(key), "is missing or empty");
        }
        return value;
    }

    /// A non-negative int64 at `key`: a decimal string or a JSON integer (0 when absent).
    sys::Result<std::int64_t> int64(std::string_view key) const {
        const Json* value = find(key);
        if (value == nullptr) {
            return std::int64_t{0};
        }
        if (value->is_number_unsigned()) {
            const auto n = value->get<std::uint64_t>();
            if (n <= static_cast<std::uint64_t>(INT64_MAX)) {
                return static_cast<std::int64_t>(n);
            }
        } else if (value->is_string()) {
            const auto& text = value->get_ref<const std::string&>();
            std::int64_t n = 0;
            bool ok = !text.empty() && text.size() <= 19;
            for (const char c : text) {
                ok = ok && c >= '0' && c <= '9';
                if (ok) {
                    if (n > (INT64_MAX - (c - '0')) / 10) {
                        ok = false;
                        break;
                    }
                    n = n * 10 + (c - '0');
                }
            }
            if (ok) {
                return n;
            }
        }
        return invalid(at(key), "is not a non-negative 64-bit integer");
    }

private:
    const Json& m_json;
    std::string m_path;
};

Reader element(const Json* json, const std::string& path, std::size_t i) {
    return Reader(*json, fmt::format("{}[{}]", path, i));
}

sys::Result<void> parse_verification_material(const Reader& json, SigstoreBundle& out) {
    const int materials = static_cast<int>(json.has("certificate")) +
                          static_cast<int>(json.has("x509CertificateChain")) +
                          static_cast<int>(json.has("publicKey"));
    if (materials == 0) {
        return invalid(json.path(),
                       "has none of \"certificate\", \"x509CertificateChain\" and \"publicKey\"");
    }
    if (materials > 1) {
        return invalid(json.path(),
                       "has more than one of \"certificate\", \"x509CertificateChain\" and "
                       "\"publicKey\"");
    }
    if (json.has("certificate")) {
        auto certificate = json.required_object("certificate");
        if (!certificate) {
            return certificate.error();
        }
        auto der = certificate->required_bytes("rawBytes");
        if (!der) {
            return der.error();
        }
        out.certificates.push_back(std::move(*der));
    } else if (json.has("x509CertificateChain")) {
        auto chain = json.required_object("x509CertificateChain");
        if (!chain) {
            return chain.error();
        }
        auto certificates = chain->array("certificates", k_max_certificates);
        if (!certificates) {
            return certificates.error();
        }
        if (certificates->empty()) {
            return invalid(chain->at("certificates"), "is empty");
        }
        for (std::size_t i = 0; i < certificates->size(); ++i) {
            const auto path = chain->at("certificates");
            if (!(*certificates)[i]->is_object()) {
                return invalid(fmt::format("{}[{}]", path, i), "is not an object");
            }
            auto der = element((*certificates)[i], path, i).required_bytes("rawBytes");
            if (!der) {
                return der.error();
            }
            out.certificates.push_back(std::move(*der));
        }
        out.certificate_chain = true;
    } else {
        auto key = json.required_object("publicKey");
        if (!key) {
            return key.error();
        }
        auto hint = key->string("hint");
        if (!hint) {
            return hint.error();
        }
        out.public_key_hint = std::move(*hint);
    }

    auto entries = json.array("tlogEntries", k_max_tlog_entries);
    if (!entries) {
        return entries.error();
    }
    for (std::size_t i = 0; i < entries->size(); ++i) {
        auto entry = parse_bundle_tlog_entry(*(*entries)[i],
                                             fmt::format("{}[{}]", json.at("tlogEntries"), i));
        if (!entry) {
            return sys::Error::invalid(
                fmt::format("the Sigstore bundle's {}", entry.error().message));
        }
        out.tlog_entries.push_back(std::move(*entry));
    }

    auto timestamps = json.object("timestampVerificationData");
    if (!timestamps) {
        return timestamps.error();
    }
    if (*timestamps) {
        auto list = (*timestamps)->array("rfc3161Timestamps", k_max_timestamps);
        if (!list) {
            return list.error();
        }
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto path = (*timestamps)->at("rfc3161Timestamps");
            if (!(*list)[i]->is_object()) {
                return invalid(fmt::format("{}[{}]", path, i), "is not an object");
            }
            auto der = element((*list)[i], path, i).required_bytes("signedTimestamp");
            if (!der) {
                return der.error();
            }
            out.rfc3161_timestamps.push_back(std::move(*der));
        }
    }
    return {};
}

sys::Result<MessageSignature> parse_message_signature(const Reader& json) {
    MessageSignature out;
    auto digest = json.required_object("messageDigest");
    if (!digest) {
        return digest.error();
    }
    const Json* algorithm = digest->find("algorithm");
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
        return invalid(digest->at("algorithm"), "is not a hash algorithm name");
    }
    auto bytes = digest->required_bytes("digest");
    if (!bytes) {
        return bytes.error();
    }
    out.digest = std::move(*bytes);
    auto signature = json.required_bytes("signature");
    if (!signature) {
        return signature.error();
    }
    out.signature = std::move(*signature);
    return out;
}

sys::Result<void> parse_dsse_envelope(const Reader& json, SigstoreBundle& bundle) {
    DsseEnvelope out;
    auto payload = json.required_bytes("payload");
    if (!payload) {
        return payload.error();
    }
    out.payload = std::move(*payload);
    auto type = json.string("payloadType");
    if (!type) {
        return type.error();
    }
    if (type->empty()) {
        return invalid(json.at("payloadType"), "is missing or empty");
    }
    out.payload_type = std::move(*type);
    auto signatures = json.array("signatures", k_max_certificates);
    if (!signatures) {
        return signatures.error();
    }
    if (signatures->size() != 1) {
        return invalid(
            json.at("signatures"),
            fmt::format("has {} signatures; Sigstore signs with exactly one", signatures->size()));
    }
    const std::string path = json.at("signatures");
    if (!signatures->front()->is_object()) {
        return invalid(path + "[0]", "is not an object");
    }
    const Reader signature = element(signatures->front(), path, 0);
    auto sig = signature.required_bytes("sig");
    if (!sig) {
        return sig.error();
    }
    auto keyid = signature.string("keyid");
    if (!keyid) {
        return keyid.error();
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
    if (body.size() > k_max_bundle_size) {
        return sys::Error::invalid(
            fmt::format("the Sigstore bundle has {} bytes; at most {} are read", body.size(),
                        k_max_bundle_size));
    }
    Json json;
    try {
        json = Json::parse(body);
    } catch (const Json::parse_error& e) {
        return sys::Error::invalid(
            fmt::format("the Sigstore bundle is not JSON (syntax error at byte {})", e.byte));
    } catch (const Json::exception&) {
        return sys::Error::invalid("the Sigstore bundle is not JSON agentd can read");
    }
    if (!json.is_object()) {
        return sys::Error::invalid("the Sigstore bundle is not a JSON object");
    }
    const Reader root(json, "bundle");
    SigstoreBundle out;
    auto media_type = root.string("mediaType");
    if (!media_type) {
        return sys::Error::invalid("the Sigstore bundle's mediaType is not a string");
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

    auto material = root.required_object("verificationMaterial");
    if (!material) {
        return sys::Error::invalid(
            fmt::format("the Sigstore bundle's verificationMaterial {}",
                        root.has("verificationMaterial") ? "is not an object" : "is missing"));
    }
    if (auto ok = parse_verification_material(*material, out); !ok) {
        return ok.error();
    }

    const bool has_message = root.has("messageSignature");
    const bool has_dsse = root.has("dsseEnvelope");
    if (has_message == has_dsse) {
        return sys::Error::invalid(
            fmt::format("the Sigstore bundle has {} of \"messageSignature\" and \"dsseEnvelope\"",
                        has_message ? "both" : "neither"));
    }
    if (has_message) {
        auto content = root.required_object("messageSignature");
        if (!content) {
            return content.error();
        }
        auto signature = parse_message_signature(*content);
        if (!signature) {
            return signature.error();
        }
        out.message_signature = std::move(*signature);
    } else {
        auto content = root.required_object("dsseEnvelope");
        if (!content) {
            return content.error();
        }
        if (auto ok = parse_dsse_envelope(*content, out); !ok) {
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

}  // namespace agentd::trust
