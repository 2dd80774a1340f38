#include "agent/sys/base64.h"

#include <algorithm>

#include <openssl/evp.h>

namespace agentd::sys {

std::string base64_encode(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64url_encode(std::string_view data) {
    auto out = base64_encode(data);
    std::replace(out.begin(), out.end(), '+', '-');
    std::replace(out.begin(), out.end(), '/', '_');
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) {
        return std::nullopt;
    }
    const auto padding = text.find('=');
    if (padding != std::string_view::npos &&
        (padding < text.size() - 2 || text.find_first_not_of('=', padding) != std::string::npos)) {
        return std::nullopt;  // '=' only at the very end
    }
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    // EVP_DecodeBlock counts padding as zero bytes.
    const auto pad = padding == std::string_view::npos ? 0 : text.size() - padding;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

}  // namespace agentd::sys
