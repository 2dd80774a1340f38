#pragma once
// What a keyless signature is over, as the two Rekor entry kinds agentd checks record it:
// - a message digest (hashedrekord): the signature is over the artifact, and the log records
//   the artifact's digest. cosign's legacy signatures sign the simple-signing payload blob;
//   a Sigstore bundle's messageSignature signs the artifact its messageDigest names.
// - a DSSE envelope (dsse): the signature is over the envelope's pre-authentication encoding
//   PAE(payloadType, payload), and the log records the payload's SHA-256.

#include <string>
#include <string_view>
#include <variant>

#include "agent/sys/digest.h"

namespace agentd::sigstore {

struct MessageDigest {
    sys::Hash hash = sys::Hash::Sha256;
    std::string digest;  ///< raw bytes
};

struct DsseEnvelope {
    std::string payload_type;  ///< "application/vnd.in-toto+json"
    std::string payload;       ///< raw bytes (base64-decoded)
};

using SignedContent = std::variant<MessageDigest, DsseEnvelope>;

/// DSSE's pre-authentication encoding, the bytes a DSSE signature is over:
/// "DSSEv1 <len(type)> <type> <len(payload)> <payload>", lengths in ASCII decimal.
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

}  // namespace agentd::sigstore
