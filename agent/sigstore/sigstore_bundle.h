#pragma once
// Sigstore bundles (protobuf-specs' dev.sigstore.bundle.v1.Bundle in its JSON form), parsed
// without I/O so that they can be tested and fuzzed alone. No signature, certificate or log
// proof is checked here: the bundle is taken apart into the bytes the verifiers check.
//
// A bundle is what `cosign sign` (v3, or --new-bundle-format) attaches to an image as an OCI
// referrer, and what sigstore-js / sigstore-go / sigstore-python write. Its JSON is protobuf's
// canonical mapping: camelCase keys, bytes as base64 (standard or URL-safe alphabet, padding
// optional), 64-bit integers as decimal strings (numbers accepted too), a field equal to its
// default (0, "", []) may be absent, null is absent. In outline:
//   {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//    "verificationMaterial": {
//      "certificate": {"rawBytes": DER}            (v0.3; or, up to v0.2:)
//      "x509CertificateChain": {"certificates": [{"rawBytes": DER}, ...]}   (or:)
//      "publicKey": {"hint": "..."},
//      "tlogEntries": [{"logIndex": "12", "logId": {"keyId": B64},
//                       "kindVersion": {"kind": "dsse", "version": "0.0.1"},
//                       "integratedTime": "1700000000",
//                       "inclusionPromise": {"signedEntryTimestamp": B64},
//                       "inclusionProof": {"logIndex": "12", "rootHash": B64, "treeSize": "13",
//                                          "hashes": [B64...], "checkpoint": {"envelope": "..."}},
//                       "canonicalizedBody": B64}],
//      "timestampVerificationData": {"rfc3161Timestamps": [{"signedTimestamp": B64}]}},
//    "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": B64},
//                         "signature": B64}            (or:)
//    "dsseEnvelope": {"payload": B64, "payloadType": "application/vnd.in-toto+json",
//                     "signatures": [{"sig": B64, "keyid": ""}]}}
//
// Versions are accepted as sigstore-go and @sigstore/bundle accept them: v0.1 needs an
// inclusion promise (SET) on every log entry, v0.2 and later an inclusion proof with a
// checkpoint, and v0.3 must not carry a certificate chain (one leaf certificate only).
// Everything else the verifiers need is checked where it is used.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/result.h"
#include "agent/sigstore/rekor_entry.h"
#include "agent/sigstore/signed_content.h"

namespace agentd::sigstore {

/// The media type (and OCI artifactType) of the bundles cosign v3 and sigstore-js write now.
inline constexpr std::string_view k_bundle_v03_media_type =
    "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Far above any real bundle (a few KiB, an SLSA provenance some hundred): what a referrer
/// may make us download and parse.
inline constexpr std::size_t k_max_bundle_size = 4 * 1024 * 1024;

/// The `messageSignature` content: a signature over an artifact given by its digest.
struct MessageSignature {
    std::string digest_algorithm;  ///< "SHA2_256", "SHA2_384", "SHA2_512" (enum names)
    std::string digest;            ///< raw bytes
    std::string signature;         ///< raw bytes
};

/// The one signature of a bundle's `dsseEnvelope` (github.com/secure-systems-lab/dsse) over
/// dsse_pae() of the envelope. Sigstore signs envelopes with exactly one signature, so the
/// parser refuses any other count.
struct DsseSignature {
    std::string sig;    ///< raw bytes of signatures[0].sig
    std::string keyid;  ///< signatures[0].keyid, usually empty
};

/// A parsed bundle. Exactly one of the verification materials (certificates non-empty, or
/// public_key_hint set) and exactly one of the contents (message_signature, dsse_envelope) is
/// present.
struct SigstoreBundle {
    std::string media_type;
    int minor_version = 0;  ///< 1, 2 or 3: the bundle version is 0.<minor_version>
    /// DER certificates, the signing (leaf) certificate first: one for `certificate`, the
    /// whole `x509CertificateChain` otherwise. Empty for a public key bundle.
    std::vector<std::string> certificates;
    bool certificate_chain = false;  ///< the certificates came as x509CertificateChain
    /// `publicKey.hint` (possibly empty) when the bundle was signed with a key, not keyless.
    std::optional<std::string> public_key_hint;
    std::vector<TlogEntry> tlog_entries;  ///< parsed by rekor_entry.h
    std::vector<std::string> rfc3161_timestamps;  ///< raw DER of each signed timestamp
    std::optional<MessageSignature> message_signature;
    std::optional<DsseEnvelope> dsse_envelope;  ///< payload and type (signed_content.h)
    DsseSignature dsse_signature;               ///< set with dsse_envelope
};

/// Parses a bundle's JSON. InvalidInput, naming the field by its JSON path
/// ("verificationMaterial.tlogEntries[0].inclusionProof.rootHash is not base64"), for a body
/// above k_max_bundle_size, anything that is not JSON, an unknown media type or version, a
/// field of the wrong type, bytes that are not base64, negative or non-numeric integers,
/// missing required parts (content, verification material, a log entry's logId and
/// kindVersion, the promise or proof the version requires), ambiguous ones (two contents, two
/// verification materials), a v0.3 certificate chain, and counts above the bounds (16 log
/// entries, 16 certificates, 64 proof hashes, 16 timestamps). Unknown keys are ignored.
sys::Result<SigstoreBundle> parse_sigstore_bundle(std::string_view body);

/// The bundle version a media type names (1, 2 or 3 for v0.1, v0.2, v0.3), or nullopt:
/// "application/vnd.dev.sigstore.bundle+json;version=0.N" and
/// "application/vnd.dev.sigstore.bundle.v0.N+json".
std::optional<int> sigstore_bundle_version(std::string_view media_type);

/// Checks that a message signature signs the image manifest whose digest is `digest`
/// ("sha256:<hex>"): algorithm SHA2_256 and the digest's bytes. nullopt when it does, else the
/// failed check, worded to follow "the bundle's message signature ".
std::optional<std::string> check_message_digest(const MessageSignature& signature,
                                                std::string_view digest);

}  // namespace agentd::sigstore
