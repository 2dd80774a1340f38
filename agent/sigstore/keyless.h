#pragma once
// Keyless (Sigstore) signature verification: the entry point the image verifiers call, for
// cosign's legacy keyless layout (the signature layer's certificate, chain and Rekor bundle
// annotations) and for Sigstore bundles (v0.3: certificate, DSSE envelope or message
// signature, tlogEntries) alike. Pure: the caller has fetched and parsed everything.
//
// verify_keyless accepts a signature when, in this order:
// 1. the signature verifies with the leaf certificate's key over what was signed (a message
//    digest, or a DSSE envelope's PAE);
// 2. a transparency log entry from a log of the trusted root is about this very signature
//    (rekor_body.h: hashedrekord, dsse or intoto, with the same digest or payload hash, the
//    same signature and the same certificate) and its signed entry timestamp verifies, giving
//    the signing time (its integratedTime); an inclusion proof, when present, must verify too
//    (proof + checkpoint). Entries from logs
//    the root does not know are skipped; any other failing entry rejects. An entry with only
//    an inclusion proof proves inclusion but no time (the time is not signed), and RFC 3161
//    timestamps are not supported yet, so at least one entry needs a SET;
// 3. the certificate chains to a CA of the trusted root at the signing time (fulcio.h), which
//    also means the certificate was valid then;
// 4. its identity (SAN) and OIDC issuer match the policy (identity_pattern.h).

#include <cstdint>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"
#include "agent/sigstore/identity_pattern.h"
#include "agent/sigstore/rekor_entry.h"
#include "agent/sigstore/signed_content.h"
#include "agent/sigstore/trusted_root.h"

namespace agentd::sigstore {

/// `verify.cosign: {identity: ..., issuer: ...}`: both must match.
struct KeylessPolicy {
    IdentityPattern identity;
    IdentityPattern issuer;
};

/// One keyless signature and what comes with it.
struct KeylessEvidence {
    std::string certificate;         ///< the signing (leaf) certificate, DER
    std::vector<std::string> chain;  ///< intermediates offered with it, DER (untrusted)
    std::string signature;           ///< raw signature bytes
    /// What the signature is over. A message digest must be one the caller computed from the
    /// artifact being deployed (the simple-signing payload's bytes, the image manifest), never
    /// a bundle's messageDigest taken on trust (sigstore-conformance's
    /// message-digest-mismatch_fail case).
    SignedContent content;
    std::vector<TlogEntry> tlog_entries;  ///< at most 8 are looked at
};

/// What verified, for the deployment's events.
struct KeylessVerified {
    std::string identity;  ///< the certificate's SAN
    std::string issuer;    ///< its OIDC issuer
    std::string ca;        ///< the CA it chained to ("O=sigstore.dev, CN=sigstore (https://...)")
    std::string log;       ///< the log's base URL
    std::int64_t log_index = 0;
    sys::TimePoint signing_time;   ///< the entry's integratedTime
    bool inclusion_proof = false;  ///< the entry's inclusion proof was verified too

    /// "keyless signature by IDENTITY (issuer ISSUER), certificate from CA, logged in LOG
    /// entry N at TIME".
    std::string describe() const;
};

/// Verifies `evidence` against `root` and `policy` as described above. InvalidInput naming
/// the check that failed and what was expected; never another kind.
sys::Result<KeylessVerified> verify_keyless(const TrustedRoot& root, const KeylessPolicy& policy,
                                            const KeylessEvidence& evidence);

}  // namespace agentd::sigstore
