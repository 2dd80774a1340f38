// age v1 decryption (https://age-encryption.org/v1): the parsing is as strict as age's own (the
// C2SP CCTV vectors in tests/unit/sys/age_test.cpp hold it to that), OpenSSL does X25519,
// HKDF-SHA256, HMAC-SHA256 and ChaCha20-Poly1305.

#include "agent/sys/age.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

namespace agentd::sys {
namespace {

constexpr std::string_view k_version_line = "age-encryption.org/v1";
constexpr std::string_view k_x25519_label = "age-encryption.org/v1/X25519";
constexpr std::string_view k_armor_header = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr std::string_view k_armor_footer = "-----END AGE ENCRYPTED FILE-----";
constexpr std::string_view k_secret_key_hrp = "age-secret-key-";
constexpr std::string_view k_recipient_hrp = "age";
constexpr std::size_t k_stanza_columns = 64;          // base64 characters per stanza body line
constexpr std::size_t k_armor_columns = 64;           // base64 characters per armor line
constexpr std::size_t k_armor_line_bytes = 48;        // bytes a full armor line holds
constexpr std::size_t k_max_armor_whitespace = 1024;  // around the armor, as age allows
constexpr std::size_t k_file_key_size = 16;
constexpr std::size_t k_nonce_size = 16;
constexpr std::size_t k_tag_size = 16;
constexpr std::size_t k_chunk_size = 64 * 1024;

Error armor_error(std::string_view why) {
    return Error::invalid(fmt::format("armor: {}", why));
}
Error header_error(std::string_view why) {
    return Error::invalid(fmt::format("header: {}", why));
}
Error payload_error(std::string_view why) {
    return Error::invalid(fmt::format("payload: {}", why));
}

void cleanse(std::string& bytes) {
    if (!bytes.empty()) {
        OPENSSL_cleanse(bytes.data(), bytes.size());
    }
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// --- base64, canonical only --------------------------------------------------------------

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/// Standard-alphabet base64, canonical: with `padded`, '=' padding to a multiple of 4 is
/// required, else none is allowed; the unused bits of the last character must be zero.
std::optional<std::string> decode_base64(std::string_view text, bool padded) {
    if (padded) {
        if (text.size() % 4 != 0) {
            return std::nullopt;
        }
        std::size_t pad = 0;
        while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
            ++pad;
        }
        text.remove_suffix(pad);
    }
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned int acc = 0;
    int bits = 0;
    for (const char c : text) {
        const int v = base64_value(c);
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<unsigned int>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) {
        return std::nullopt;  // not canonical: unused bits set
    }
    return out;
}

// --- bech32 (BIP 173), as age's keys use it --------------------------------------------------

constexpr std::string_view k_bech32_charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t bech32_polymod(const std::vector<std::uint8_t>& values) {
    constexpr std::uint32_t generator[] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                           0x2a1462b3};
    std::uint32_t chk = 1;
    for (const auto v : values) {
        const std::uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (int i = 0; i < 5; ++i) {
            if ((top >> i) & 1) {
                chk ^= generator[i];
            }
        }
    }
    return chk;
}

std::vector<std::uint8_t> bech32_hrp_expand(std::string_view hrp) {
    std::vector<std::uint8_t> out;
    for (const char c : hrp) {
        out.push_back(static_cast<std::uint8_t>(c) >> 5);
    }
    out.push_back(0);
    for (const char c : hrp) {
        out.push_back(static_cast<std::uint8_t>(c) & 31);
    }
    return out;
}

/// The data of a bech32 string with human-readable part `hrp`; nullopt when the case is mixed,
/// a character or the checksum is wrong, or the padding is not zero.
std::optional<std::string> bech32_decode(std::string_view text, std::string_view hrp) {
    const bool has_lower =
        std::any_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    const bool has_upper =
        std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (has_lower && has_upper) {
        return std::nullopt;
    }
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    const auto separator = lower.rfind('1');
    if (separator == std::string::npos || lower.substr(0, separator) != hrp ||
        lower.size() - separator - 1 < 6) {
        return std::nullopt;
    }
    std::vector<std::uint8_t> values = bech32_hrp_expand(hrp);
    const std::size_t data_start = values.size();
    for (std::size_t i = separator + 1; i < lower.size(); ++i) {
        const auto at = k_bech32_charset.find(lower[i]);
        if (at == std::string_view::npos) {
            return std::nullopt;
        }
        values.push_back(static_cast<std::uint8_t>(at));
    }
    if (bech32_polymod(values) != 1) {
        return std::nullopt;
    }
    std::string out;
    unsigned int acc = 0;
    int bits = 0;
    for (std::size_t i = data_start; i + 6 < values.size(); ++i) {
        acc = (acc << 5) | values[i];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) {
        cleanse(out);
        return std::nullopt;
    }
    return out;
}

std::string bech32_encode(std::string_view hrp, std::string_view data) {
    std::vector<std::uint8_t> values;
    unsigned int acc = 0;
    int bits = 0;
    for (const char c : data) {
        acc = (acc << 8) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            values.push_back((acc >> bits) & 31);
        }
    }
    if (bits > 0) {
        values.push_back((acc << (5 - bits)) & 31);
    }
    auto checked = bech32_hrp_expand(hrp);
    checked.insert(checked.end(), values.begin(), values.end());
    checked.insert(checked.end(), 6, 0);
    const std::uint32_t mod = bech32_polymod(checked) ^ 1;
    std::string out(hrp);
    out += '1';
    for (const auto v : values) {
        out += k_bech32_charset[v];
    }
    for (int i = 0; i < 6; ++i) {
        out += k_bech32_charset[(mod >> (5 * (5 - i))) & 31];
    }
    return out;
}

// --- OpenSSL primitives ------------------------------------------------------------------------

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct KdfFree {
    void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxFree {
    void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

/// X25519(secret, share); nullopt when OpenSSL refuses, as it does for an all-zero result (a
/// low-order share), which age forbids.
std::optional<std::string> x25519(const std::array<unsigned char, 32>& secret,
                                  std::string_view share) {
    std::unique_ptr<EVP_PKEY, PkeyFree> own(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.data(), secret.size()));
    std::unique_ptr<EVP_PKEY, PkeyFree> peer(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(share.data()),
        share.size()));
    if (!own || !peer) {
        return std::nullopt;
    }
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
    std::string out(32, '\0');
    std::size_t size = out.size();
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &size) != 1 ||
        size != 32) {
        return std::nullopt;
    }
    if (std::all_of(out.begin(), out.end(), [](char c) { return c == 0; })) {
        return std::nullopt;
    }
    return out;
}

/// HKDF-SHA256 (RFC 5869), 32 bytes.
std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info) {
    std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
    std::string out(32, '\0');
    if (!ctx) {
        return {};
    }
    char digest[] = "SHA256";
    OSSL_PARAM params[5];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    const_cast<char*>(ikm.data()), ikm.size());
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
    params[n] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                       params) != 1) {
        return {};
    }
    return out;
}

/// ChaCha20-Poly1305 (RFC 8439) decryption of `sealed` (ciphertext and its 16-byte tag);
/// nullopt when the tag does not verify.
std::optional<std::string> chacha20_poly1305_open(std::string_view key,
                                                  const std::array<unsigned char, 12>& nonce,
                                                  std::string_view sealed) {
    if (key.size() != 32 || sealed.size() < k_tag_size) {
        return std::nullopt;
    }
    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
    const auto* k = reinterpret_cast<const unsigned char*>(key.data());
    const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
    const std::size_t size = sealed.size() - k_tag_size;
    std::string out(size, '\0');
    int written = 0;
    int final_written = 0;
    if (!ctx ||
        EVP_DecryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, k, nonce.data()) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(k_tag_size),
                            const_cast<unsigned char*>(in + size)) != 1 ||
        (size > 0 && EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                                       &written, in, static_cast<int>(size)) != 1) ||
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + written,
                            &final_written) != 1) {
        cleanse(out);
        return std::nullopt;
    }
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::string out(32, '\0');
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()), &size);
    return out;
}

// --- the header --------------------------------------------------------------------------------

struct Stanza {
    std::vector<std::string> args;  ///< the type first
    std::string body;
};

struct Header {
    std::vector<Stanza> stanzas;
    std::string_view mac_input;  ///< the header up to and including "---"
    std::string mac;
    std::string_view payload;  ///< after the header: nonce and chunks
};

/// The next line of `rest` without its LF, which is required.
std::optional<std::string_view> next_line(std::string_view& rest) {
    const auto end = rest.find('\n');
    if (end == std::string_view::npos) {
        return std::nullopt;
    }
    const auto line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    return line;
}

bool valid_argument(std::string_view arg) {
    return !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 33 && static_cast<unsigned char>(c) <= 126;
    });
}

std::vector<std::string_view> split_spaces(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto space = text.find(' ', start);
        out.push_back(text.substr(start, space - start));
        if (space == std::string_view::npos) {
            return out;
        }
        start = space + 1;
    }
}

Result<Header> parse_header(std::string_view file) {
    std::string_view rest = file;
    const auto version = next_line(rest);
    if (!version) {
        return header_error("no version line");
    }
    if (*version != k_version_line) {
        return header_error("not an age v1 file (the first line is not \"age-encryption.org/v1\")");
    }
    Header header;
    while (true) {
        const auto line_start = rest.data();
        const auto line = next_line(rest);
        if (!line) {
            return header_error("truncated before the \"---\" line");
        }
        if (line->starts_with("---")) {
            if (!line->starts_with("--- ")) {
                return header_error("malformed \"---\" line");
            }
            const auto mac = decode_base64(line->substr(4), false);
            if (!mac || mac->size() != 32) {
                return header_error(
                    "the MAC on the \"---\" line is not 32 bytes of canonical "
                    "base64");
            }
            header.mac = *mac;
            header.mac_input =
                file.substr(0, static_cast<std::size_t>(line_start - file.data()) + 3);
            header.payload = rest;
            return header;
        }
        if (!line->starts_with("-> ")) {
            return header_error("a line that is neither a stanza (\"-> \") nor \"---\"");
        }
        Stanza stanza;
        for (const auto arg : split_spaces(line->substr(3))) {
            if (!valid_argument(arg)) {
                return header_error("a stanza argument is empty or has invalid characters");
            }
            stanza.args.emplace_back(arg);
        }
        while (true) {
            const auto body_line = next_line(rest);
            if (!body_line) {
                return header_error("a stanza body is not terminated");
            }
            if (body_line->size() > k_stanza_columns) {
                return header_error("a stanza body line is longer than 64 columns");
            }
            const auto bytes = decode_base64(*body_line, false);
            if (!bytes) {
                return header_error("a stanza body is not canonical base64");
            }
            stanza.body += *bytes;
            if (body_line->size() < k_stanza_columns) {
                break;
            }
        }
        header.stanzas.push_back(std::move(stanza));
    }
}

/// The file key from the first X25519 stanza one of `identities` opens; "no identity matches"
/// when none does. A malformed X25519 stanza is a header error, as in age.
Result<std::string> unwrap_file_key(const Header& header,
                                    const std::vector<AgeIdentity>& identities) {
    for (const auto& stanza : header.stanzas) {
        if (stanza.args[0] != "X25519") {
            continue;  // another recipient type (scrypt, plugins, grease): not ours
        }
        if (stanza.args.size() != 2) {
            return header_error("an X25519 stanza must have exactly one argument");
        }
        const auto share = decode_base64(stanza.args[1], false);
        if (!share || share->size() != 32) {
            return header_error("an X25519 share is not 32 bytes of canonical base64");
        }
        if (stanza.body.size() != k_file_key_size + k_tag_size) {
            return header_error("an X25519 stanza body is not a 16-byte wrapped file key");
        }
        for (const auto& identity : identities) {
            auto shared = x25519(identity.secret(), *share);
            if (!shared) {
                return header_error("an X25519 share gives an all-zero shared secret");
            }
            const std::string_view recipient(
                reinterpret_cast<const char*>(identity.public_key().data()), 32);
            std::string key = hkdf_sha256(*shared, *share + std::string(recipient), k_x25519_label);
            cleanse(*shared);
            auto file_key = chacha20_poly1305_open(key, {}, stanza.body);
            cleanse(key);
            if (file_key) {
                return std::move(*file_key);
            }
        }
    }
    return Error::invalid(
        "no identity matches: the file is not encrypted to any recipient of "
        "the identity file");
}

Result<SecretBytes> decrypt_payload(std::string_view payload, std::string_view file_key) {
    if (payload.size() < k_nonce_size) {
        return header_error("the payload nonce is missing or short");
    }
    std::string key = hkdf_sha256(file_key, payload.substr(0, k_nonce_size), "payload");
    payload.remove_prefix(k_nonce_size);
    if (payload.empty()) {
        cleanse(key);
        return payload_error("no chunks (even an empty file has one)");
    }
    std::string plaintext;
    std::array<unsigned char, 12> nonce{};
    constexpr std::size_t sealed_chunk = k_chunk_size + k_tag_size;
    for (std::uint64_t counter = 0; !payload.empty(); ++counter) {
        const bool last = payload.size() <= sealed_chunk;
        const auto sealed = payload.substr(0, std::min(payload.size(), sealed_chunk));
        for (int i = 0; i < 8; ++i) {
            nonce[10 - i] = static_cast<unsigned char>((counter >> (8 * i)) & 0xff);
        }
        nonce[11] = last ? 1 : 0;
        auto chunk = chacha20_poly1305_open(key, nonce, sealed);
        if (!chunk) {
            cleanse(key);
            cleanse(plaintext);
            return payload_error(fmt::format(
                "chunk {} does not authenticate (damaged, truncated or with trailing data)",
                counter));
        }
        if (last && chunk->empty() && counter > 0) {
            cleanse(key);
            cleanse(plaintext);
            return payload_error("the last chunk is empty");
        }
        plaintext += *chunk;
        cleanse(*chunk);
        payload.remove_prefix(sealed.size());
    }
    cleanse(key);
    return SecretBytes(std::move(plaintext));
}

}  // namespace

AgeIdentity::~AgeIdentity() {
    OPENSSL_cleanse(m_secret.data(), m_secret.size());
}

Result<AgeIdentity> AgeIdentity::parse(std::string_view text) {
    if (!text.starts_with("AGE-SECRET-KEY-1")) {
        return Error::invalid("not an age X25519 identity (\"AGE-SECRET-KEY-1...\")");
    }
    auto data = bech32_decode(text, k_secret_key_hrp);
    if (!data || data->size() != 32) {
        if (data) {
            cleanse(*data);
        }
        return Error::invalid("an age identity with a bad bech32 encoding or checksum");
    }
    AgeIdentity identity;
    std::memcpy(identity.m_secret.data(), data->data(), 32);
    cleanse(*data);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_X25519, nullptr, identity.m_secret.data(), identity.m_secret.size()));
    std::size_t size = identity.m_public.size();
    if (!key || EVP_PKEY_get_raw_public_key(key.get(), identity.m_public.data(), &size) != 1 ||
        size != 32) {
        return Error::invalid("an age identity OpenSSL does not accept as an X25519 key");
    }
    return identity;
}

std::string AgeIdentity::recipient() const {
    return bech32_encode(k_recipient_hrp,
                         std::string_view(reinterpret_cast<const char*>(m_public.data()), 32));
}

Result<std::vector<AgeIdentity>> parse_age_identities(std::string_view text) {
    std::vector<AgeIdentity> identities;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto end = text.find('\n');
        auto line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        while (!line.empty() && is_space(line.back())) {
            line.remove_suffix(1);
        }
        while (!line.empty() && is_space(line.front())) {
            line.remove_prefix(1);
        }
        if (line.empty() || line.starts_with('#')) {
            continue;
        }
        auto identity = AgeIdentity::parse(line);
        if (!identity) {
            return Error::invalid(fmt::format("line {}: {}", number, identity.error().message));
        }
        identities.push_back(*identity);
    }
    if (identities.empty()) {
        return Error::invalid("no identity (\"AGE-SECRET-KEY-1...\" line) in the identity file");
    }
    return identities;
}

bool is_age_armored(std::string_view file) {
    while (!file.empty() && is_space(file.front())) {
        file.remove_prefix(1);
    }
    return file.starts_with(k_armor_header);
}

Result<std::string> age_dearmor(std::string_view armored) {
    std::string_view rest = armored;
    // One line without its LF and one CR before it; nullopt at the end of the input.
    const auto get_line = [&rest]() -> std::optional<std::string_view> {
        if (rest.empty()) {
            return std::nullopt;
        }
        const auto end = rest.find('\n');
        auto line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        return line;
    };
    const auto only_whitespace_left = [&rest]() {
        return rest.size() < k_max_armor_whitespace &&
               std::all_of(rest.begin(), rest.end(), is_space);
    };
    std::size_t leading = 0;
    while (true) {
        const auto line = get_line();
        if (!line) {
            return armor_error("no \"-----BEGIN AGE ENCRYPTED FILE-----\" line");
        }
        if (std::all_of(line->begin(), line->end(), is_space)) {
            leading += line->size() + 1;
            if (leading > k_max_armor_whitespace) {
                return armor_error("too much leading whitespace");
            }
            continue;
        }
        if (*line != k_armor_header) {
            return armor_error("the first line is not \"-----BEGIN AGE ENCRYPTED FILE-----\"");
        }
        break;
    }
    std::string out;
    while (true) {
        const auto line = get_line();
        if (!line) {
            return armor_error("no \"-----END AGE ENCRYPTED FILE-----\" line");
        }
        if (*line == k_armor_footer) {
            break;
        }
        if (line->empty()) {
            return armor_error("an empty line inside the armor");
        }
        if (line->size() > k_armor_columns) {
            return armor_error("a line longer than 64 columns");
        }
        const auto bytes = decode_base64(*line, true);
        if (!bytes) {
            return armor_error("a line that is not canonical padded base64");
        }
        out += *bytes;
        if (bytes->size() < k_armor_line_bytes) {
            const auto footer = get_line();
            if (!footer || *footer != k_armor_footer) {
                return armor_error("a short line that is not followed by the END line");
            }
            break;
        }
    }
    if (!only_whitespace_left()) {
        return armor_error("data after the END line");
    }
    return out;
}

Result<SecretBytes> age_decrypt(std::string_view file, const std::vector<AgeIdentity>& identities) {
    auto header = parse_header(file);
    if (!header) {
        return header.error();
    }
    auto file_key = unwrap_file_key(*header, identities);
    if (!file_key) {
        return file_key.error();
    }
    std::string mac_key = hkdf_sha256(*file_key, "", "header");
    const std::string mac = hmac_sha256(mac_key, header->mac_input);
    cleanse(mac_key);
    if (CRYPTO_memcmp(mac.data(), header->mac.data(), mac.size()) != 0) {
        cleanse(*file_key);
        return Error::invalid("header MAC: the header was changed or the file key is wrong");
    }
    auto plaintext = decrypt_payload(header->payload, *file_key);
    cleanse(*file_key);
    return plaintext;
}

Result<SecretBytes> age_decrypt_any(std::string_view file,
                                    const std::vector<AgeIdentity>& identities) {
    if (!is_age_armored(file)) {
        return age_decrypt(file, identities);
    }
    auto binary = age_dearmor(file);
    if (!binary) {
        return binary.error();
    }
    auto plaintext = age_decrypt(*binary, identities);
    cleanse(*binary);
    return plaintext;
}

}  // namespace agentd::sys
