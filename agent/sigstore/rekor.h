#pragma once
// Verifying a Rekor (v1) transparency log entry against a log key of the trusted root:
// - the signed entry timestamp (SET, "inclusion promise"): the log's ECDSA signature, over
//   SHA-256, of the canonical JSON (RFC 8785: keys sorted, no whitespace)
//     {"body":"<base64 of the entry>","integratedTime":N,"logID":"<hex>","logIndex":N}
//   as cosign and sigstore-go rebuild it. Only a verified SET makes the entry's integratedTime
//   a time the log vouches for: the time a keyless certificate is checked at.
// - the inclusion proof: the RFC 6962 leaf hash of the entry's body, its audit path to the
//   proof's root hash, and a checkpoint signed by the log that names the same tree size and
//   root hash.

#include <string>

#include "agent/sys/result.h"
#include "agent/sigstore/rekor_entry.h"
#include "agent/sigstore/trusted_root.h"

namespace agentd::sigstore {

/// The exact bytes a SET signs for `entry`.
std::string signed_entry_timestamp_payload(const TlogEntry& entry);

/// Verifies `entry`'s SET with `log`'s key, and that the key was valid (validFor) at the
/// entry's integratedTime. InvalidInput saying what failed; the entry must have a SET.
sys::Result<void> verify_signed_entry_timestamp(const TlogEntry& entry, const TransparencyLog& log);

/// Verifies `entry`'s inclusion proof and its checkpoint with `log`'s key. InvalidInput saying
/// what failed; the entry must have a proof.
sys::Result<void> verify_inclusion_proof(const TlogEntry& entry, const TransparencyLog& log);

}  // namespace agentd::sigstore
