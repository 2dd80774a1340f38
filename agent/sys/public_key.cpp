#include "agent/sys/public_key.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace agentd::sys {

namespace {

// A PEM public key is a few hundred bytes (an RSA 8192 key under 2 KiB): refuse big files
// before reading them.
constexpr std::uintmax_t k_max_key_file_size = 64 * 1024;
constexpr int k_min_rsa_bits = 2048;

Error bad_key(const std::string& name, std::string_view why) {
    return Error::invalid(fmt::format("public key {}: {}", name, why));
}

}  // namespace

void PublicKey::Free::operator()(void* key) const {
    EVP_PKEY_free(static_cast<EVP_PKEY*>(key));
}

Result<PublicKey> PublicKey::load(const std::filesystem::path& file) {
    const std::string name = file.string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) {
        return bad_key(name, fmt::format("cannot be read: {}", ec.message()));
    }
    if (size > k_max_key_file_size) {
        return bad_key(name, "is larger than 64 KiB: not a PEM public key");
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
        return bad_key(name, "cannot be read");
    }
    return parse(text.str(), name);
}

Result<PublicKey> PublicKey::parse(std::string_view pem, const std::string& name) {
    if (pem.size() > k_max_key_file_size) {
        return bad_key(name, "is larger than 64 KiB: not a PEM public key");
    }
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) {
        return Error::failed(fmt::format("public key {}: out of memory", name));
    }
    EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (raw == nullptr) {
        ERR_clear_error();  // the reason is ours to say; leave no stale error for others
        return bad_key(name,
                       "is not a PEM public key (expected -----BEGIN PUBLIC KEY-----, as "
                       "`cosign generate-key-pair` or `openssl pkey -pubout` write)");
    }
    return adopt(raw, name);
}

Result<PublicKey> PublicKey::parse_der(std::string_view der, const std::string& name) {
    if (der.size() > k_max_key_file_size) {
        return bad_key(name, "is larger than 64 KiB: not a public key");
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
    if (raw == nullptr || p != reinterpret_cast<const unsigned char*>(der.data() + der.size())) {
        EVP_PKEY_free(raw);
        ERR_clear_error();
        return bad_key(name, "is not a DER SubjectPublicKeyInfo");
    }
    return adopt(raw, name);
}

Result<PublicKey> PublicKey::adopt(void* evp_pkey, const std::string& name) {
    auto* raw = static_cast<EVP_PKEY*>(evp_pkey);
    PublicKey key;
    key.m_key = std::shared_ptr<void>(raw, Free{});
    key.m_name = name;
    switch (EVP_PKEY_get_base_id(raw)) {
        case EVP_PKEY_EC: {
            char group[64] = {0};
            std::size_t length = 0;
            if (EVP_PKEY_get_utf8_string_param(raw, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                               &length) != 1) {
                return bad_key(name, "is an EC key without a named curve");
            }
            const std::string_view curve(group, length);
            if (curve == "prime256v1" || curve == "P-256") {
                key.m_algorithm = "ECDSA P-256";
            } else if (curve == "secp384r1" || curve == "P-384") {
                key.m_algorithm = "ECDSA P-384";
            } else {
                return bad_key(
                    name, fmt::format("is an EC key on curve {}; supported: P-256, P-384", curve));
            }
            break;
        }
        case EVP_PKEY_ED25519:
            key.m_algorithm = "Ed25519";
            key.m_prehash = false;
            break;
        case EVP_PKEY_RSA: {
            const int bits = EVP_PKEY_get_bits(raw);
            if (bits < k_min_rsa_bits) {
                return bad_key(name, fmt::format("is an RSA key of {} bits; at least {} are needed",
                                                 bits, k_min_rsa_bits));
            }
            key.m_algorithm = fmt::format("RSA {}", bits);
            break;
        }
        default:
            return bad_key(name,
                           "is a key of an unsupported type; supported: ECDSA P-256, P-384, "
                           "Ed25519, RSA");
    }
    return key;
}

bool PublicKey::verifies(std::string_view data, std::string_view signature) const {
    return verifies(data, signature, Hash::Sha256);
}

bool PublicKey::verifies(std::string_view data, std::string_view signature, Hash hash) const {
    if (signature.empty()) {
        return false;
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) {
        return false;
    }
    auto* pkey = static_cast<EVP_PKEY*>(m_key.get());
    const EVP_MD* md = !m_prehash             ? nullptr
                       : hash == Hash::Sha384 ? EVP_sha384()
                       : hash == Hash::Sha512 ? EVP_sha512()
                                              : EVP_sha256();
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey) == 1;
    // RSA keys verify PKCS#1 v1.5, OpenSSL's default padding for them: what cosign signs with.
    ok = ok && EVP_DigestVerify(
                   ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
    }
    return ok;
}

bool PublicKey::verifies_digest(std::string_view digest, std::string_view signature,
                                Hash hash) const {
    if (signature.empty() || !m_prehash) {
        return false;
    }
    auto* pkey = static_cast<EVP_PKEY*>(m_key.get());
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
    if (ctx == nullptr) {
        return false;
    }
    const EVP_MD* md = hash == Hash::Sha384   ? EVP_sha384()
                       : hash == Hash::Sha512 ? EVP_sha512()
                                              : EVP_sha256();
    bool ok = EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    ok = ok && EVP_PKEY_verify(
                   ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                   reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
    }
    return ok;
}

}  // namespace agentd::sys
