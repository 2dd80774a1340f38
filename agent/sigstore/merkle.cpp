#include "agent/sigstore/merkle.h"

#include "agent/sys/digest.h"

namespace agentd::sigstore {

std::string merkle_leaf_hash(std::string_view data) {
    std::string input;
    input.reserve(data.size() + 1);
    input += '\0';
    input += data;
    return sys::sha256(input);
}

std::string merkle_node_hash(std::string_view left, std::string_view right) {
    std::string input;
    input.reserve(left.size() + right.size() + 1);
    input += '\x01';
    input += left;
    input += right;
    return sys::sha256(input);
}

std::optional<std::string> merkle_root_from_proof(std::uint64_t index, std::uint64_t size,
                                                  std::string_view leaf_hash,
                                                  const std::vector<std::string>& proof) {
    constexpr std::size_t k_hash_size = 32;
    if (index >= size || leaf_hash.size() != k_hash_size) {
        return std::nullopt;
    }
    std::uint64_t fn = index;
    std::uint64_t sn = size - 1;
    std::string r(leaf_hash);
    for (const auto& p : proof) {
        if (sn == 0 || p.size() != k_hash_size) {
            return std::nullopt;
        }
        if ((fn & 1) == 1 || fn == sn) {
            r = merkle_node_hash(p, r);
            // The last node of a level with no right sibling moves up unchanged.
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            r = merkle_node_hash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return std::nullopt;
    }
    return r;
}

}  // namespace agentd::sigstore
