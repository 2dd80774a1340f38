#include "agent/trust/cosign.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/base64.h"
#include "agent/sigstore/sigstore_bundle.h"
#include "agent/sys/quote.h"

namespace agentd::trust {

namespace {

// A signature manifest has one layer per signature; cosign appends one each time an image is
// signed again. Far more than any real one.
constexpr std::size_t k_max_layers = 64;
// Annotations are copied only when their size is sane: a certificate chain is a few KiB.
constexpr std::size_t k_max_annotation_size = 256 * 1024;

sys::Result<nlohmann::json> parse_json(std::string_view body, std::string_view what) {
    try {
        return nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        return sys::Error::invalid(
            fmt::format("{} is not JSON (syntax error at byte {})", what, e.byte));
    } catch (const nlohmann::json::out_of_range&) {
        return sys::Error::invalid(fmt::format("{} is not JSON agentd can read", what));
    }
}

/// The string at `key` of `object`, or nullopt when absent or not a string.
std::optional<std::string> string_at(const nlohmann::json& object, std::string_view key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

std::string annotation(const nlohmann::json& annotations, std::string_view key) {
    auto value = string_at(annotations, key);
    return value && value->size() <= k_max_annotation_size ? std::move(*value) : std::string();
}

// The "layers" array of an image manifest (schemaVersion 2), at most k_max_layers long.
sys::Result<const nlohmann::json*> manifest_layers(const nlohmann::json& json,
                                                   std::string_view what) {
    if (!json.is_object()) {
        return sys::Error::invalid(fmt::format("{} is not a JSON object", what));
    }
    const auto version = json.find("schemaVersion");
    if (version == json.end() || !version->is_number_integer() || *version != 2) {
        return sys::Error::invalid(
            fmt::format("{} is not an image manifest (schemaVersion is not 2)", what));
    }
    const auto layers = json.find("layers");
    if (layers == json.end() || !layers->is_array()) {
        return sys::Error::invalid(fmt::format("{} has no \"layers\" array", what));
    }
    if (layers->size() > k_max_layers) {
        return sys::Error::invalid(fmt::format("{} has {} layers; at most {} are read", what,
                                               layers->size(), k_max_layers));
    }
    return &*layers;
}

}  // namespace

std::string signature_tag(std::string_view digest) {
    std::string tag(digest);
    if (const auto colon = tag.find(':'); colon != std::string::npos) {
        tag[colon] = '-';
    }
    return tag + ".sig";
}

sys::Result<std::vector<SignatureLayer>> parse_signature_manifest(std::string_view body) {
    auto json = parse_json(body, "the signature manifest");
    if (!json) {
        return json.error();
    }
    auto layers_or = manifest_layers(*json, "the signature manifest");
    if (!layers_or) {
        return layers_or.error();
    }
    const nlohmann::json* layers = *layers_or;
    std::vector<SignatureLayer> out;
    for (std::size_t i = 0; i < layers->size(); ++i) {
        const auto& layer = (*layers)[i];
        if (!layer.is_object()) {
            return sys::Error::invalid(
                fmt::format("layer {} of the signature manifest is not an object", i));
        }
        if (string_at(layer, "mediaType") != k_simple_signing_media_type) {
            continue;  // not a signature (cosign writes none, others may)
        }
        SignatureLayer parsed;
        const auto digest = string_at(layer, "digest");
        if (!digest || !sources::valid_digest(*digest)) {
            return sys::Error::invalid(
                fmt::format("layer {} of the signature manifest has no valid sha256 digest", i));
        }
        parsed.payload_digest = *digest;
        const auto size = layer.find("size");
        if (size == layer.end() || !size->is_number_unsigned() ||
            size->get<std::uint64_t>() > k_max_payload_size) {
            return sys::Error::invalid(
                fmt::format("layer {} of the signature manifest has no size, or one above {} bytes",
                            i, k_max_payload_size));
        }
        parsed.payload_size = size->get<std::uint64_t>();
        if (const auto annotations = layer.find("annotations");
            annotations != layer.end() && annotations->is_object()) {
            const std::string encoded = annotation(*annotations, k_signature_annotation);
            if (!encoded.empty()) {
                auto decoded = sys::base64_decode(encoded);
                if (!decoded) {
                    return sys::Error::invalid(fmt::format(
                        "layer {} of the signature manifest has a {} annotation that is not "
                        "base64",
                        i, k_signature_annotation));
                }
                parsed.signature = std::move(*decoded);
            }
            parsed.certificate = annotation(*annotations, k_certificate_annotation);
            parsed.chain = annotation(*annotations, k_chain_annotation);
            parsed.bundle = annotation(*annotations, k_bundle_annotation);
        }
        out.push_back(std::move(parsed));
    }
    return out;
}

sys::Result<SimpleSigning> parse_simple_signing(std::string_view payload) {
    auto json = parse_json(payload, "the signed payload");
    if (!json) {
        return json.error();
    }
    if (!json->is_object()) {
        return sys::Error::invalid("the signed payload is not a JSON object");
    }
    const auto critical = json->find("critical");
    if (critical == json->end() || !critical->is_object()) {
        return sys::Error::invalid("the signed payload has no \"critical\" object");
    }
    SimpleSigning out;
    const auto identity = critical->find("identity");
    const auto image = critical->find("image");
    std::optional<std::string> reference;
    std::optional<std::string> digest;
    if (identity != critical->end() && identity->is_object()) {
        reference = string_at(*identity, "docker-reference");
    }
    if (image != critical->end() && image->is_object()) {
        digest = string_at(*image, "docker-manifest-digest");
    }
    const auto type = string_at(*critical, "type");
    if (!reference) {
        return sys::Error::invalid(
            "the signed payload has no critical.identity.docker-reference string");
    }
    if (!digest) {
        return sys::Error::invalid(
            "the signed payload has no critical.image.docker-manifest-digest string");
    }
    if (!type) {
        return sys::Error::invalid("the signed payload has no critical.type string");
    }
    out.docker_reference = std::move(*reference);
    out.manifest_digest = std::move(*digest);
    out.type = std::move(*type);
    return out;
}

std::optional<std::string> check_claims(const SimpleSigning& claims, const sources::ImageRef& image,
                                        std::string_view digest) {
    if (claims.type != k_cosign_signature_type) {
        return fmt::format("has critical.type {}, expected {}", sys::quoted(claims.type),
                           sys::quoted(k_cosign_signature_type));
    }
    if (claims.manifest_digest != digest) {
        return fmt::format("is for digest {}, expected {}", sys::quoted(claims.manifest_digest),
                           digest);
    }
    const auto signed_ref = sources::ImageRef::parse(claims.docker_reference);
    if (!signed_ref || signed_ref->registry != image.registry ||
        signed_ref->repository != image.repository) {
        return fmt::format("is for repository {}, expected {}",
                           sys::quoted(claims.docker_reference), image.familiar_name());
    }
    return std::nullopt;
}

sys::Result<BlobRef> parse_bundle_manifest(std::string_view body) {
    constexpr std::string_view what = "the Sigstore bundle's manifest";
    auto json = parse_json(body, what);
    if (!json) {
        return json.error();
    }
    auto layers = manifest_layers(*json, what);
    if (!layers) {
        return layers.error();
    }
    for (const auto& layer : **layers) {
        const auto media_type = layer.is_object() ? string_at(layer, "mediaType") : std::nullopt;
        if (!media_type || !sigstore::sigstore_bundle_version(*media_type)) {
            continue;
        }
        BlobRef out;
        const auto digest = string_at(layer, "digest");
        const auto size = layer.find("size");
        if (!digest || !sources::valid_digest(*digest)) {
            return sys::Error::invalid(fmt::format("{} has a bundle layer without a valid sha256 "
                                                   "digest",
                                                   what));
        }
        if (size == layer.end() || !size->is_number_unsigned() ||
            size->get<std::uint64_t>() > k_max_bundle_size) {
            return sys::Error::invalid(fmt::format(
                "{} has a bundle layer without a size, or one above {} bytes", what,
                k_max_bundle_size));
        }
        out.digest = *digest;
        out.size = size->get<std::uint64_t>();
        return out;
    }
    return sys::Error::invalid(fmt::format("{} has no layer of a Sigstore bundle media type", what));
}

}  // namespace agentd::trust
