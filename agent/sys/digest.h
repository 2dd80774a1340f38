#pragma once
// Message digests and hex, as raw bytes: what the Sigstore formats (Merkle trees, log IDs,
// hashed artifacts) compare. OpenSSL computes the digests.

#include <optional>
#include <string>
#include <string_view>

namespace agentd::sys {

enum class Hash { Sha256, Sha384, Sha512 };

/// The digest of `data` as raw bytes (32, 48 or 64 of them).
std::string digest(Hash hash, std::string_view data);
/// Raw SHA-256 of `data` (32 bytes).
inline std::string sha256(std::string_view data) {
    return digest(Hash::Sha256, data);
}
/// "sha256", "sha384", "sha512" (the names Rekor's entries use); nullopt for any other name.
std::optional<Hash> hash_named(std::string_view name);
/// Lower-case hex of raw bytes.
std::string hex_encode(std::string_view bytes);
/// Raw bytes of hex (either case, even length); nullopt on anything else.
std::optional<std::string> hex_decode(std::string_view hex);

}  // namespace agentd::sys
