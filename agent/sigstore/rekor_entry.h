#pragma once
// A Rekor transparency log entry as a signature carries it, parsed without I/O from the two
// forms agentd reads:
// - cosign's legacy "dev.sigstore.cosign/bundle" annotation, the Rekor SET bundle:
//   {"SignedEntryTimestamp": base64,
//    "Payload": {"body": base64 of the entry, "integratedTime": N, "logIndex": N,
//                "logID": hex}}
// - one of a Sigstore bundle's verificationMaterial.tlogEntries (protobuf JSON:
//   TransparencyLogEntry, with logIndex/integratedTime as strings, byte fields in base64, an
//   optional inclusionPromise {signedEntryTimestamp} and inclusionProof {logIndex, rootHash,
//   treeSize, hashes, checkpoint {envelope}}).
// Both give a TlogEntry; rekor.h verifies it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/sys/result.h"

namespace agentd::sigstore {

/// An entry, and a signature, are a few KiB; a body holds one certificate.
inline constexpr std::size_t k_max_tlog_entry_size = 256 * 1024;

/// RFC 6962 proof that the entry's leaf is in the tree a checkpoint signs.
struct InclusionProof {
    std::int64_t log_index = 0;  ///< the leaf's index in this tree (shard), not the global one
    std::string root_hash;       ///< raw 32 bytes
    std::int64_t tree_size = 0;
    std::vector<std::string> hashes;  ///< raw 32 bytes each, leaf to root
    std::string checkpoint;           ///< the signed note, as is
};

struct TlogEntry {
    std::string body;                    ///< the canonicalized entry (JSON bytes), base64-decoded
    std::int64_t integrated_time = 0;    ///< seconds since the epoch; 0 when absent
    std::int64_t log_index = 0;          ///< the global (virtual) index the SET signs
    std::string log_id;                  ///< raw bytes: SHA-256 of the log's DER public key
    std::string signed_entry_timestamp;  ///< raw DER ECDSA signature; empty when absent
    std::optional<InclusionProof> inclusion_proof;
    std::string kind;     ///< from the bundle's kindVersion; empty for cosign's annotation
    std::string version;  ///< likewise
};

/// Parses cosign's "dev.sigstore.cosign/bundle" annotation. InvalidInput naming the field for
/// anything else (a missing SET, body, integratedTime, logIndex or logID, logID not hex).
sys::Result<TlogEntry> parse_cosign_bundle(std::string_view json);

/// Parses one entry of a Sigstore bundle's tlogEntries (its JSON text). InvalidInput naming
/// the field; an entry needs a canonicalizedBody, logIndex, logId.keyId, kindVersion and an
/// inclusionPromise or inclusionProof (a proof needs its checkpoint).
sys::Result<TlogEntry> parse_bundle_tlog_entry(std::string_view json);
/// The same for an entry already parsed as part of a bundle: errors name each field below
/// `path` ("bundle.verificationMaterial.tlogEntries[0].logId.keyId is missing").
sys::Result<TlogEntry> parse_bundle_tlog_entry(const nlohmann::json& entry, std::string_view path);

}  // namespace agentd::sigstore
