#include "agent/sys/digest.h"

#include <openssl/evp.h>

namespace agentd::sys {

namespace {

const EVP_MD* md_of(Hash hash) {
    switch (hash) {
        case Hash::Sha384:
            return EVP_sha384();
        case Hash::Sha512:
            return EVP_sha512();
        case Hash::Sha256:
            break;
    }
    return EVP_sha256();
}

int nibble(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

std::string digest(Hash hash, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), out, &length, md_of(hash), nullptr);
    return std::string(reinterpret_cast<const char*>(out), length);
}

std::optional<Hash> hash_named(std::string_view name) {
    if (name == "sha256") {
        return Hash::Sha256;
    }
    if (name == "sha384") {
        return Hash::Sha384;
    }
    if (name == "sha512") {
        return Hash::Sha512;
    }
    return std::nullopt;
}

std::string hex_encode(std::string_view bytes) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out += k_digits[byte >> 4];
        out += k_digits[byte & 0x0f];
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
    if (hex.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = nibble(hex[i]);
        const int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        out += static_cast<char>((high << 4) | low);
    }
    return out;
}

}  // namespace agentd::sys
