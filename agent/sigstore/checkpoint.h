#pragma once
// A transparency log checkpoint (signed tree head) in the signed-note format of
// golang.org/x/mod/sumdb/note, as Rekor writes it:
//   <origin>\n<tree size>\n<base64 root hash>\n[other lines\n]\n
//   — <signer name> <base64(4-byte key hint || signature)>\n   (one or more)
// The signed text is everything before the blank line, its last "\n" included. Rekor's key
// hint is the first 4 bytes of the SHA-256 of the log's DER public key; an ECDSA signature is
// over the SHA-256 of the text, an Ed25519 one over the text itself.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/result.h"
#include "agent/sigstore/trusted_root.h"

namespace agentd::sigstore {

struct Checkpoint {
    std::string text;  ///< the signed note text
    std::string origin;
    std::uint64_t tree_size = 0;
    std::string root_hash;  ///< raw 32 bytes
    struct Signature {
        std::string name;
        std::string key_hint;   ///< 4 raw bytes
        std::string signature;  ///< raw
    };
    std::vector<Signature> signatures;
};

/// Parses a checkpoint. InvalidInput saying what is wrong (no blank line before the
/// signatures, a size that is not a number, a root hash that is not 32 base64 bytes, a
/// malformed signature line, none at all, more than 16).
sys::Result<Checkpoint> parse_checkpoint(std::string_view note);

/// True when one of the checkpoint's signatures has `log`'s key hint and verifies with its
/// key.
bool checkpoint_signed_by(const Checkpoint& checkpoint, const TransparencyLog& log);

}  // namespace agentd::sigstore
