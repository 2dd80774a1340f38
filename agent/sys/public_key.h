#pragma once
// A public key signatures are checked with: a PEM file (SubjectPublicKeyInfo, as
// `cosign generate-key-pair` and `openssl pkey -pubout` write) holding an ECDSA P-256/P-384,
// Ed25519 or RSA (2048 bits or more) key. OpenSSL parses the key and does all the
// cryptography. Immutable once read, so copies may be shared between threads.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "agent/sys/digest.h"
#include "agent/sys/result.h"

namespace agentd::sys {

class PublicKey {
public:
    /// Reads and parses `file`. InvalidInput, naming the file and what is wrong, when it cannot
    /// be read, is not a PEM public key, or is a key of an unsupported type or size.
    static Result<PublicKey> load(const std::filesystem::path& file);
    /// As load, from PEM text; `name` stands for the file in messages.
    static Result<PublicKey> parse(std::string_view pem, const std::string& name);
    /// As parse, from DER SubjectPublicKeyInfo (a Sigstore trusted root's rawBytes, a
    /// certificate's key).
    static Result<PublicKey> parse_der(std::string_view der, const std::string& name);

    /// True when `signature` is this key's signature of `data` as cosign (and sigstore) make
    /// it: ECDSA
    /// (ASN.1 DER) or RSA PKCS#1 v1.5 over SHA-256 of `data`, Ed25519 over `data` itself.
    bool verifies(std::string_view data, std::string_view signature) const;
    /// As verifies, with `hash` for ECDSA and RSA (Ed25519 ignores it).
    bool verifies(std::string_view data, std::string_view signature, Hash hash) const;
    /// True when `signature` is this key's ECDSA or RSA PKCS#1 v1.5 signature of a digest
    /// already made with `hash` (Rekor's hashedrekord entries sign a digest). False for
    /// Ed25519, which cannot sign a digest.
    bool verifies_digest(std::string_view digest, std::string_view signature, Hash hash) const;
    /// The hash Sigstore pairs with this key when none is named: SHA-384 for ECDSA P-384,
    /// SHA-256 for the others.
    Hash natural_hash() const { return m_algorithm == "ECDSA P-384" ? Hash::Sha384 : Hash::Sha256; }

    /// The file the key came from, as configured.
    const std::string& name() const { return m_name; }
    /// "ECDSA P-256", "ECDSA P-384", "Ed25519", "RSA 3072".
    const std::string& algorithm() const { return m_algorithm; }

private:
    static Result<PublicKey> adopt(void* evp_pkey, const std::string& name);
    struct Free {
        void operator()(void* key) const;
    };
    std::shared_ptr<void> m_key;  // EVP_PKEY*, shared: a key is immutable once read
    std::string m_name;
    std::string m_algorithm;
    bool m_prehash = true;  // false for Ed25519, which signs the message itself
};

}  // namespace agentd::sys
