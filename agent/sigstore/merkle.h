#pragma once
// RFC 6962 (RFC 9162 section 2.1) Merkle tree hashing and inclusion proofs, as Rekor's logs
// build their trees: a leaf hash is SHA-256(0x00 || entry), an inner node SHA-256(0x01 ||
// left || right).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::sigstore {

/// SHA-256(0x00 || data), raw.
std::string merkle_leaf_hash(std::string_view data);
/// SHA-256(0x01 || left || right), raw.
std::string merkle_node_hash(std::string_view left, std::string_view right);

/// The root hash an inclusion proof leads to for the leaf at `index` of a tree of `size`
/// leaves (RFC 9162 2.1.3.2); nullopt when the proof cannot be one for that position (index
/// out of range, too few or too many hashes, a hash that is not 32 bytes).
std::optional<std::string> merkle_root_from_proof(std::uint64_t index, std::uint64_t size,
                                                  std::string_view leaf_hash,
                                                  const std::vector<std::string>& proof);

}  // namespace agentd::sigstore
