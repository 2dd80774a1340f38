#pragma once
// The body of a Rekor (v1) entry: what the log recorded about a signature. A log entry proves
// something about a signature only when its body is about that signature, so the body is
// compared with the signature being verified, field by field (sigstore-go's rule; a bundle
// carrying some other entry, CVE-2022-36056, must fail). Three kinds are read, every other
// kind or version is refused:
// - hashedrekord 0.0.1: {"apiVersion":"0.0.1","kind":"hashedrekord","spec":{
//     "data":{"hash":{"algorithm":"sha256","value":HEX}},
//     "signature":{"content":BASE64 SIG,"publicKey":{"content":BASE64 PEM CERT}}}}
// - dsse 0.0.1: {"apiVersion":"0.0.1","kind":"dsse","spec":{
//     "envelopeHash":{...},"payloadHash":{"algorithm":"sha256","value":HEX},
//     "signatures":[{"signature":BASE64 SIG,"verifier":BASE64 PEM CERT}, ...]}}
// - intoto 0.0.2 (DSSE envelopes logged before dsse existed, and what @sigstore/mock's Rekor
//   logs for envelopes): {"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{
//     "envelope":{"payloadType":..,"signatures":[{"sig":BASE64 OF BASE64 SIG,
//                 "publicKey":BASE64 PEM CERT}]},
//     "hash":{...},"payloadHash":{"algorithm":"sha256","value":HEX}}}}

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/digest.h"
#include "agent/sys/result.h"
#include "agent/sigstore/signed_content.h"

namespace agentd::sigstore {

struct RekorBody {
    std::string kind;     ///< "hashedrekord", "dsse" or "intoto"
    std::string version;  ///< "0.0.1" ("0.0.2" for intoto)
    /// hashedrekord: the artifact's digest; dsse, intoto: the SHA-256 of the envelope's payload.
    sys::Hash hash = sys::Hash::Sha256;
    std::string digest;  ///< raw
    struct Signature {
        std::string signature;    ///< raw
        std::string certificate;  ///< DER; empty when the verifier is not a certificate
    };
    std::vector<Signature> signatures;  ///< hashedrekord: exactly one
};

/// Parses an entry body. InvalidInput naming the field, or saying the kind is not supported
/// ("kind "rekord" "0.0.1" is not supported; supported: hashedrekord 0.0.1, ...").
sys::Result<RekorBody> parse_rekor_body(std::string_view body);

/// Why `body` is not about `signature` (raw) of `content` by `certificate` (DER), or nullopt
/// when it is: the kind fits the content (hashedrekord for a message digest, dsse or intoto for
/// an envelope), the digest is the same, and one of its signatures is `signature` with
/// `certificate`.
std::optional<std::string> body_mismatch(const RekorBody& body, const SignedContent& content,
                                         std::string_view signature, std::string_view certificate);

}  // namespace agentd::sigstore
