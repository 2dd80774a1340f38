#include "agent/webhook/signature.h"

#include <optional>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fmt/format.h>

#include "agent/sys/digest.h"

namespace agentd::webhook {

namespace {

constexpr std::size_t k_hmac_size = 32;
constexpr std::string_view k_github_prefix = "sha256=";

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The 32 bytes of exactly 64 hex digits of either case; nullopt for anything else.
std::optional<std::string> decode_hmac_hex(std::string_view text) {
    if (text.size() != 2 * k_hmac_size) {
        return std::nullopt;
    }
    for (const char c : text) {
        if (!is_hex(c)) {
            return std::nullopt;
        }
    }
    return sys::hex_decode(text);
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

sys::Error refused(std::string_view header, std::string_view why) {
    return sys::Error::unauthorized(fmt::format("{} {}", header, why));
}

sys::Result<void> check_hmac(std::string_view header, std::string_view value,
                             std::string_view expected_format, std::string_view secret,
                             std::string_view body) {
    const auto given = decode_hmac_hex(value);
    if (!given) {
        return refused(header, fmt::format("is not {}", expected_format));
    }
    const std::string expected = hmac_sha256(secret, body);
    if (expected.size() != k_hmac_size || !equal_in_constant_time(*given, expected)) {
        return refused(header, "does not match the body and the webhook secret");
    }
    return {};
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    // OpenSSL wants a key pointer even for an empty key.
    static const unsigned char k_empty = 0;
    const void* key_bytes = key.empty() ? &k_empty : static_cast<const void*>(key.data());
    const auto* data_bytes =
        reinterpret_cast<const unsigned char*>(data.empty() ? "" : data.data());
    if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()), data_bytes, data.size(), out,
             &length) == nullptr) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(out), length);
}

sys::Result<void> check_signature(Provider provider, std::string_view secret,
                                  const Headers& headers, std::string_view body) {
    const auto [header, value] = headers.first_of(signature_headers(provider));
    const std::string_view expected_header = signature_headers(provider).front();
    if (secret.empty()) {
        return sys::Error::unauthorized("no webhook secret is configured");
    }
    if (value == nullptr) {
        return refused(expected_header, "is missing");
    }
    switch (provider) {
        case Provider::GitHub: {
            const std::string_view text = *value;
            if (text.substr(0, k_github_prefix.size()) != k_github_prefix) {
                return refused(header, "is not \"sha256=\" followed by 64 hex digits");
            }
            return check_hmac(header, text.substr(k_github_prefix.size()),
                              "\"sha256=\" followed by 64 hex digits", secret, body);
        }
        case Provider::Gitea:
            return check_hmac(header, *value, "64 hex digits", secret, body);
        case Provider::GitLab:
            if (!equal_in_constant_time(sys::sha256(*value), sys::sha256(secret))) {
                return refused(header, "is not the webhook secret");
            }
            return {};
    }
    return refused(header, "cannot be checked");
}

}  // namespace agentd::webhook
