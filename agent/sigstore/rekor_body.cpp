#include "agent/sigstore/rekor_body.h"

#include <fmt/format.h>

#include "agent/sys/quote.h"
#include "agent/sigstore/fulcio.h"
#include "agent/sigstore/json_fields.h"
#include "agent/sigstore/rekor_entry.h"

namespace agentd::sigstore {

namespace {

namespace jf = json_fields;

constexpr std::size_t k_max_dsse_signatures = 16;

sys::Error in_body(const sys::Error& error) {
    return sys::Error::invalid("the log entry's body: " + error.message);
}

/// {"algorithm": "sha256", "value": HEX} at `key`.
sys::Result<std::pair<sys::Hash, std::string>> hash_at(const nlohmann::json& parent,
                                                       const std::string& path,
                                                       std::string_view key) {
    auto object = jf::object(parent, path, key);
    if (!object) {
        return object.error();
    }
    const auto where = jf::path_of(path, key);
    auto algorithm = jf::string(**object, where, "algorithm");
    if (!algorithm) {
        return algorithm.error();
    }
    const auto hash = sys::hash_named(*algorithm);
    if (!hash) {
        return sys::Error::invalid(fmt::format("{}.algorithm {} is not sha256, sha384 or sha512",
                                               where, sys::quoted(*algorithm)));
    }
    auto value = jf::string(**object, where, "value");
    if (!value) {
        return value.error();
    }
    auto raw = sys::hex_decode(*value);
    if (!raw || raw->size() != sys::digest(*hash, "").size()) {
        return sys::Error::invalid(
            fmt::format("{}.value is not the hex of a {} digest", where, *algorithm));
    }
    return std::pair{*hash, std::move(*raw)};
}

/// The DER certificate of a base64 PEM verifier; empty when it is something else (a key).
std::string certificate_of(const std::string& pem) {
    auto certificates = certificates_from_pem(pem);
    return certificates && certificates->size() == 1 ? std::move(certificates->front())
                                                     : std::string();
}

sys::Result<RekorBody> hashedrekord(const nlohmann::json& spec) {
    RekorBody out;
    auto data = jf::object(spec, "spec", "data");
    if (!data) {
        return data.error();
    }
    auto hash = hash_at(**data, "spec.data", "hash");
    if (!hash) {
        return hash.error();
    }
    out.hash = hash->first;
    out.digest = std::move(hash->second);
    auto signature = jf::object(spec, "spec", "signature");
    if (!signature) {
        return signature.error();
    }
    auto content = jf::base64(**signature, "spec.signature", "content");
    if (!content) {
        return content.error();
    }
    auto key = jf::object(**signature, "spec.signature", "publicKey");
    if (!key) {
        return key.error();
    }
    auto pem = jf::base64(**key, "spec.signature.publicKey", "content");
    if (!pem) {
        return pem.error();
    }
    out.signatures.push_back({std::move(*content), certificate_of(*pem)});
    return out;
}

sys::Result<RekorBody> dsse(const nlohmann::json& spec) {
    RekorBody out;
    auto hash = hash_at(spec, "spec", "payloadHash");
    if (!hash) {
        return hash.error();
    }
    if (hash->first != sys::Hash::Sha256) {
        return sys::Error::invalid("spec.payloadHash.algorithm is not sha256");
    }
    out.digest = std::move(hash->second);
    auto signatures = jf::array(spec, "spec", "signatures", k_max_dsse_signatures);
    if (!signatures) {
        return signatures.error();
    }
    if ((*signatures)->empty()) {
        return sys::Error::invalid("spec.signatures is empty");
    }
    for (std::size_t i = 0; i < (*signatures)->size(); ++i) {
        const auto path = fmt::format("spec.signatures[{}]", i);
        const auto& item = (**signatures)[i];
        auto signature = jf::base64(item, path, "signature");
        if (!signature) {
            return signature.error();
        }
        auto pem = jf::base64(item, path, "verifier");
        if (!pem) {
            return pem.error();
        }
        out.signatures.push_back({std::move(*signature), certificate_of(*pem)});
    }
    return out;
}

sys::Result<RekorBody> intoto(const nlohmann::json& spec) {
    RekorBody out;
    auto content = jf::object(spec, "spec", "content");
    if (!content) {
        return content.error();
    }
    auto hash = hash_at(**content, "spec.content", "payloadHash");
    if (!hash) {
        return hash.error();
    }
    if (hash->first != sys::Hash::Sha256) {
        return sys::Error::invalid("spec.content.payloadHash.algorithm is not sha256");
    }
    out.digest = std::move(hash->second);
    auto envelope = jf::object(**content, "spec.content", "envelope");
    if (!envelope) {
        return envelope.error();
    }
    auto signatures =
        jf::array(**envelope, "spec.content.envelope", "signatures", k_max_dsse_signatures);
    if (!signatures) {
        return signatures.error();
    }
    if ((*signatures)->empty()) {
        return sys::Error::invalid("spec.content.envelope.signatures is empty");
    }
    for (std::size_t i = 0; i < (*signatures)->size(); ++i) {
        const auto path = fmt::format("spec.content.envelope.signatures[{}]", i);
        const auto& item = (**signatures)[i];
        // Rekor encodes the envelope's base64 signature in base64 once more.
        auto once = jf::base64(item, path, "sig");
        if (!once) {
            return once.error();
        }
        auto signature = jf::decode_base64(*once);
        if (!signature || signature->empty()) {
            return sys::Error::invalid(fmt::format("{}.sig is not base64 of base64", path));
        }
        auto pem = jf::base64(item, path, "publicKey");
        if (!pem) {
            return pem.error();
        }
        out.signatures.push_back({std::move(*signature), certificate_of(*pem)});
    }
    return out;
}

}  // namespace

sys::Result<RekorBody> parse_rekor_body(std::string_view body) {
    auto root = jf::parse_object(body, "the log entry's body", k_max_tlog_entry_size);
    if (!root) {
        return root.error();
    }
    auto kind = jf::string(*root, "", "kind");
    if (!kind) {
        return in_body(kind.error());
    }
    auto version = jf::string(*root, "", "apiVersion");
    if (!version) {
        return in_body(version.error());
    }
    auto spec = jf::object(*root, "", "spec");
    if (!spec) {
        return in_body(spec.error());
    }
    sys::Result<RekorBody> out = sys::Error::invalid("");
    if (*kind == "hashedrekord" && *version == "0.0.1") {
        out = hashedrekord(**spec);
    } else if (*kind == "dsse" && *version == "0.0.1") {
        out = dsse(**spec);
    } else if (*kind == "intoto" && *version == "0.0.2") {
        out = intoto(**spec);
    } else {
        return sys::Error::invalid(fmt::format(
            "the log entry's kind {} {} is not supported; supported: hashedrekord 0.0.1, dsse "
            "0.0.1, intoto 0.0.2",
            sys::quoted(*kind), sys::quoted(*version)));
    }
    if (!out) {
        return in_body(out.error());
    }
    out->kind = std::move(*kind);
    out->version = std::move(*version);
    return out;
}

std::optional<std::string> body_mismatch(const RekorBody& body, const SignedContent& content,
                                         std::string_view signature, std::string_view certificate) {
    if (const auto* message = std::get_if<MessageDigest>(&content)) {
        if (body.kind != "hashedrekord") {
            return fmt::format(
                "the log entry is a {} entry, expected hashedrekord for a signed "
                "message",
                body.kind);
        }
        if (body.hash != message->hash || body.digest != message->digest) {
            return fmt::format("the log entry records digest {}, but the signed artifact's is {}",
                               sys::hex_encode(body.digest), sys::hex_encode(message->digest));
        }
    } else {
        const auto& envelope = std::get<DsseEnvelope>(content);
        if (body.kind != "dsse" && body.kind != "intoto") {
            return fmt::format(
                "the log entry is a {} entry, expected dsse or intoto for a DSSE envelope",
                body.kind);
        }
        const auto payload_hash = sys::sha256(envelope.payload);
        if (body.digest != payload_hash) {
            return fmt::format("the log entry records payload hash {}, but the envelope's is {}",
                               sys::hex_encode(body.digest), sys::hex_encode(payload_hash));
        }
    }
    bool signature_seen = false;
    for (const auto& recorded : body.signatures) {
        if (recorded.signature != signature) {
            continue;
        }
        signature_seen = true;
        if (!recorded.certificate.empty() && recorded.certificate == certificate) {
            return std::nullopt;
        }
    }
    return signature_seen ? "the log entry records the signature with another certificate"
                          : "the log entry records another signature";
}

}  // namespace agentd::sigstore
