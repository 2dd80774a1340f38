#pragma once
// cosign's legacy signature format, parsed without I/O so it can be tested and fuzzed alone.
//
// `cosign sign --key` stores an image's signatures in the image's own repository under the tag
// "sha256-<hex of the image digest>.sig": an OCI (or Docker v2) image manifest whose layers are
// simple-signing payloads (media type application/vnd.dev.cosign.simplesigning.v1+json), each
// with its base64 signature in the layer annotation "dev.cosignproject.cosign/signature" (and,
// for keyless signatures, "dev.sigstore.cosign/certificate", "/chain" and "/bundle"). The
// signature is over the payload blob's bytes; the payload (containers/image's simple signing
// JSON) names what was signed:
//   {"critical": {"identity": {"docker-reference": "registry/repository"},
//                 "image": {"docker-manifest-digest": "sha256:..."},
//                 "type": "cosign container image signature"},
//    "optional": {...} or null}

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sources/image_ref.h"
#include "agent/sys/result.h"

namespace agentd::trust {

inline constexpr std::string_view k_simple_signing_media_type =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view k_signature_annotation = "dev.cosignproject.cosign/signature";
inline constexpr std::string_view k_certificate_annotation = "dev.sigstore.cosign/certificate";
inline constexpr std::string_view k_chain_annotation = "dev.sigstore.cosign/chain";
inline constexpr std::string_view k_bundle_annotation = "dev.sigstore.cosign/bundle";
inline constexpr std::string_view k_cosign_signature_type = "cosign container image signature";
/// cosign's payloads are a few hundred bytes; this bounds what a signature layer may make us
/// download.
inline constexpr std::uint64_t k_max_payload_size = 1024 * 1024;

/// The tag cosign stores `digest`'s signatures under: "sha256:ab.." -> "sha256-ab...sig".
/// `digest` must be valid (sources::valid_digest).
std::string signature_tag(std::string_view digest);

/// One simple-signing layer of a signature manifest.
struct SignatureLayer {
    std::string payload_digest;  ///< the payload blob, "sha256:<hex>"
    std::uint64_t payload_size = 0;
    std::string signature;  ///< raw bytes (base64-decoded); empty when the annotation is absent
    /// Keyless material, kept for the verifiers to come (PEM, as cosign writes them).
    std::string certificate;
    std::string chain;
    std::string bundle;  ///< JSON
};

/// The simple-signing layers of a signature manifest, in manifest order; other layers are
/// skipped. InvalidInput, saying what is wrong, for anything that is not an image manifest
/// (JSON object with schemaVersion 2 and a "layers" array), for a simple-signing layer with
/// an invalid digest, a size above k_max_payload_size or a signature that is not base64, and
/// for more than 64 layers.
sys::Result<std::vector<SignatureLayer>> parse_signature_manifest(std::string_view body);

/// Sigstore bundles attached to an image as OCI artifacts (cosign v3, @sigstore/oci): the
/// artifact type the referrers API is asked for, and a bound on a bundle's size (a bundle is a
/// few KiB).
inline constexpr std::string_view k_bundle_artifact_type =
    "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr std::uint64_t k_max_bundle_size = 1024 * 1024;

/// A blob a manifest names.
struct BlobRef {
    std::string digest;
    std::uint64_t size = 0;
};

/// The bundle blob of an artifact manifest that holds a Sigstore bundle: its first layer with
/// a Sigstore bundle media type. InvalidInput, saying what is wrong, for anything that is not
/// an image manifest, has no such layer, or names it without a valid digest or with a size
/// above k_max_bundle_size.
sys::Result<BlobRef> parse_bundle_manifest(std::string_view body);

/// The critical claims of a simple-signing payload.
struct SimpleSigning {
    std::string docker_reference;
    std::string manifest_digest;
    std::string type;
};

/// InvalidInput, saying what is wrong, for a payload that is not a JSON object with a
/// "critical" object holding the three strings. Unknown keys are allowed (cosign allows them).
sys::Result<SimpleSigning> parse_simple_signing(std::string_view payload);

/// Checks a payload's claims against the image being deployed: the type is cosign's, the
/// digest is `digest`, and docker-reference names `image`'s repository (Docker Hub's aliases
/// index.docker.io, docker.io and registry-1.docker.io are one registry). nullopt when they
/// hold, else the failed check and what was expected, worded to follow "the signed payload ".
std::optional<std::string> check_claims(const SimpleSigning& claims, const sources::ImageRef& image,
                                        std::string_view digest);

}  // namespace agentd::trust
