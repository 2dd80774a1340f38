#pragma once
// Test helper: a small private Sigstore made at test time with OpenSSL's API, never with
// agentd's code: a Fulcio-like CA (root and intermediate), leaf certificates with a chosen
// SAN, issuer extensions, extended key usage and validity, and a Rekor-like log that builds
// hashedrekord and dsse entries, signs their SETs, and proves their inclusion in an RFC 6962
// tree (built here by the RFC's recursive definitions) under a signed checkpoint. Then the
// trusted_root.json that trusts it all.

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <catch2/catch.hpp>

namespace agentd::testing::forge {

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::shared_ptr<EVP_PKEY>;
using Cert = std::shared_ptr<X509>;

inline Key p256_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    REQUIRE(key != nullptr);
    return Key(key, KeyFree{});
}

inline std::string b64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

inline std::string hex(std::string_view data) {
    std::string out;
    for (const unsigned char c : data) {
        out += fmt::format("{:02x}", c);
    }
    return out;
}

inline std::string sha256(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<const char*>(out), length);
}

inline std::string spki_der(EVP_PKEY* key) {
    unsigned char* out = nullptr;
    const int n = i2d_PUBKEY(key, &out);
    REQUIRE(n > 0);
    std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return der;
}

/// ECDSA (DER) over SHA-256 of `data`.
inline std::string sign(EVP_PKEY* key, std::string_view data) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
    std::size_t length = 0;
    REQUIRE(EVP_DigestSign(ctx, nullptr, &length,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1);
    std::string out(length, '\0');
    REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &length,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    out.resize(length);
    return out;
}

inline std::string der(X509* cert) {
    unsigned char* out = nullptr;
    const int n = i2d_X509(cert, &out);
    REQUIRE(n > 0);
    std::string bytes(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return bytes;
}

inline std::string pem(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_X509(bio, cert) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return text;
}

struct CertSpec {
    std::string common_name;  ///< empty: an empty subject, as Fulcio's leaves have
    bool ca = false;
    bool code_signing = true;
    std::string san;                       ///< "URI:https://..." or "email:..."
    std::optional<std::string> issuer_v2;  ///< 1.3.6.1.4.1.57264.1.8, a DER UTF8String
    std::optional<std::string> issuer_v1;  ///< 1.3.6.1.4.1.57264.1.1, the raw string
    std::time_t not_before = 0;
    std::time_t not_after = 0;
};

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(cert, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

inline void add_raw_extension(X509* cert, const char* oid, std::string_view contents) {
    ASN1_OBJECT* object = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, reinterpret_cast<const unsigned char*>(contents.data()),
                          static_cast<int>(contents.size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, object, 0, data);
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(cert, ext, -1) == 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(object);
}

/// A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null).
inline Cert make_certificate(const CertSpec& spec, EVP_PKEY* key, X509* issuer,
                             EVP_PKEY* issuer_key) {
    static long serial = 1000;
    Cert cert(X509_new(), CertFree{});
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
    X509_NAME* name = X509_NAME_new();
    if (!spec.common_name.empty()) {
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("agentd test"), -1, -1,
                                   0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                   -1, -1, 0);
    }
    X509_set_subject_name(cert.get(), name);
    X509_NAME_free(name);
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer)
                                                       : X509_get_subject_name(cert.get()));
    ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before);
    ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after);
    X509_set_pubkey(cert.get(), key);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    if (spec.ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    }
    if (spec.code_signing) {
        add_extension(cert.get(), signer, NID_ext_key_usage, "codeSigning");
    } else if (!spec.ca) {
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    }
    if (!spec.san.empty()) {
        add_extension(cert.get(), signer, NID_subject_alt_name, "critical," + spec.san);
    }
    if (spec.issuer_v1) {
        add_raw_extension(cert.get(), "1.3.6.1.4.1.57264.1.1", *spec.issuer_v1);
    }
    if (spec.issuer_v2) {
        ASN1_UTF8STRING* text = ASN1_UTF8STRING_new();
        ASN1_STRING_set(text, spec.issuer_v2->data(), static_cast<int>(spec.issuer_v2->size()));
        unsigned char* out = nullptr;
        const int n = i2d_ASN1_UTF8STRING(text, &out);
        add_raw_extension(
            cert.get(), "1.3.6.1.4.1.57264.1.8",
            std::string_view(reinterpret_cast<char*>(out), static_cast<std::size_t>(n)));
        OPENSSL_free(out);
        ASN1_UTF8STRING_free(text);
    }
    REQUIRE(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0);
    return cert;
}

/// RFC 6962 section 2.1, by its recursive definitions.
inline std::string leaf_hash(std::string_view data) {
    return sha256(std::string(1, '\0') + std::string(data));
}
inline std::string node_hash(const std::string& left, const std::string& right) {
    return sha256("\x01" + left + right);
}
inline std::size_t split_point(std::size_t n) {
    std::size_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}
inline std::string tree_hash(const std::vector<std::string>& leaves, std::size_t begin,
                             std::size_t end) {
    if (end - begin == 1) {
        return leaf_hash(leaves[begin]);
    }
    const std::size_t k = split_point(end - begin);
    return node_hash(tree_hash(leaves, begin, begin + k), tree_hash(leaves, begin + k, end));
}
inline std::vector<std::string> audit_path(const std::vector<std::string>& leaves, std::size_t m,
                                           std::size_t begin, std::size_t end) {
    if (end - begin == 1) {
        return {};
    }
    const std::size_t k = split_point(end - begin);
    std::vector<std::string> path;
    if (m < k) {
        path = audit_path(leaves, m, begin, begin + k);
        path.push_back(tree_hash(leaves, begin + k, end));
    } else {
        path = audit_path(leaves, m - k, begin + k, end);
        path.push_back(tree_hash(leaves, begin, begin + k));
    }
    return path;
}

/// A Rekor-like log: entries go into a tree (after some other leaves), each gets a SET and
/// an inclusion proof under a signed checkpoint.
struct Log {
    Key key = p256_key();
    std::string origin = "rekor.test - 1234";
    std::vector<std::string> leaves = {"other entry 0", "other entry 1", "other entry 2",
                                       "other entry 3", "other entry 4"};

    std::string log_id() const { return sha256(spki_der(key.get())); }

    /// The JSON text of a Sigstore bundle tlog entry for `body`, logged at `integrated_time`.
    /// `set_key`/`checkpoint_key` sign the SET and checkpoint (default: the log's key).
    std::string entry(const std::string& body, const std::string& kind, std::time_t integrated_time,
                      bool with_set = true, bool with_proof = true, EVP_PKEY* set_key = nullptr,
                      EVP_PKEY* checkpoint_key = nullptr) {
        leaves.push_back(body);
        leaves.push_back("a later entry");  // the entry is not the tree's last leaf
        const std::size_t index = leaves.size() - 2;
        const std::int64_t global_index = 1'000'000 + static_cast<std::int64_t>(index);
        const std::string set_payload =
            fmt::format(R"({{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}})",
                        b64(body), integrated_time, hex(log_id()), global_index);
        std::string out = fmt::format(
            R"({{"logIndex":"{}","logId":{{"keyId":"{}"}},"kindVersion":{{"kind":"{}","version":"0.0.1"}},)"
            R"("integratedTime":"{}","canonicalizedBody":"{}")",
            global_index, b64(log_id()), kind, integrated_time, b64(body));
        if (with_set) {
            out += fmt::format(R"(,"inclusionPromise":{{"signedEntryTimestamp":"{}"}})",
                               b64(sign(set_key != nullptr ? set_key : key.get(), set_payload)));
        }
        if (with_proof) {
            const std::string root = tree_hash(leaves, 0, leaves.size());
            std::string hashes;
            for (const auto& h : audit_path(leaves, index, 0, leaves.size())) {
                hashes += (hashes.empty() ? "\"" : ",\"") + b64(h) + "\"";
            }
            EVP_PKEY* signer = checkpoint_key != nullptr ? checkpoint_key : key.get();
            const std::string note = fmt::format("{}\n{}\n{}\n", origin, leaves.size(), b64(root));
            const std::string hint = sha256(spki_der(signer)).substr(0, 4);
            const std::string checkpoint = fmt::format("{}\n\xe2\x80\x94 rekor.test {}\n", note,
                                                       b64(hint + sign(signer, note)));
            out += fmt::format(
                R"(,"inclusionProof":{{"logIndex":"{}","rootHash":"{}","treeSize":"{}",)"
                R"("hashes":[{}],"checkpoint":{{"envelope":"{}"}}}})",
                index, b64(root), leaves.size(), hashes, escape_newlines(checkpoint));
        }
        return out + "}";
    }

    static std::string escape_newlines(const std::string& text) {
        std::string out;
        for (const char c : text) {
            if (c == '\n') {
                out += "\\n";
            } else {
                out += c;
            }
        }
        return out;
    }
};

/// A hashedrekord 0.0.1 body as Rekor writes it.
inline std::string hashedrekord_body(std::string_view digest, std::string_view signature,
                                     X509* cert) {
    return fmt::format(
        R"({{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":)"
        R"("sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}})",
        hex(digest), b64(signature), b64(pem(cert)));
}

/// A dsse 0.0.1 body as Rekor writes it.
inline std::string dsse_body(std::string_view payload, std::string_view signature, X509* cert) {
    return fmt::format(
        R"({{"apiVersion":"0.0.1","kind":"dsse","spec":{{"envelopeHash":{{"algorithm":"sha256",)"
        R"("value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}},"signatures":)"
        R"([{{"signature":"{}","verifier":"{}"}}]}}}})",
        hex(sha256("envelope")), hex(sha256(payload)), b64(signature), b64(pem(cert)));
}

/// A Fulcio-like CA: a root and an intermediate, both allowing code signing, as Fulcio's.
struct Fulcio {
    Key root_key = p256_key();
    Key intermediate_key = p256_key();
    Cert root;
    Cert intermediate;

    Fulcio(std::time_t from, std::time_t to, const std::string& name = "fulcio-test") {
        root = make_certificate({name + "-root", true, false, "", {}, {}, from, to}, root_key.get(),
                                nullptr, root_key.get());
        intermediate = make_certificate({name + "-intermediate", true, true, "", {}, {}, from, to},
                                        intermediate_key.get(), root.get(), root_key.get());
    }

    /// A leaf for `key`, valid ten minutes from `issued`.
    Cert leaf(EVP_PKEY* key, std::time_t issued, const std::string& san,
              const std::optional<std::string>& issuer_v2, bool code_signing = true,
              const std::optional<std::string>& issuer_v1 = std::nullopt) const {
        return make_certificate(
            {"", false, code_signing, san, issuer_v2, issuer_v1, issued, issued + 600}, key,
            intermediate.get(), intermediate_key.get());
    }
};

inline std::string rfc3339(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return text;
}

/// trusted_root.json trusting `fulcio` (its chain: intermediate then root, or the root alone)
/// from `from` on, and `log` (from `log_from`, by default `from`).
inline std::string trusted_root_json(const Fulcio& fulcio, const Log& log, std::time_t from,
                                     bool with_intermediate = true,
                                     std::optional<std::time_t> log_from = std::nullopt) {
    std::string chain = with_intermediate ? fmt::format(R"({{"rawBytes":"{}"}},)",
                                                        b64(der(fulcio.intermediate.get())))
                                          : std::string();
    chain += fmt::format(R"({{"rawBytes":"{}"}})", b64(der(fulcio.root.get())));
    return fmt::format(
        R"({{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",)"
        R"("tlogs":[{{"baseUrl":"https://rekor.test","hashAlgorithm":"SHA2_256","publicKey":)"
        R"({{"rawBytes":"{}","keyDetails":"PKIX_ECDSA_P256_SHA_256","validFor":{{"start":"{}"}}}},)"
        R"("logId":{{"keyId":"{}"}}}}],)"
        R"("certificateAuthorities":[{{"subject":{{"organization":"agentd test","commonName":)"
        R"("fulcio-test"}},"uri":"https://fulcio.test","certChain":{{"certificates":[{}]}},)"
        R"("validFor":{{"start":"{}"}}}}],"ctlogs":[],"timestampAuthorities":[]}})",
        b64(spki_der(log.key.get())), rfc3339(log_from.value_or(from)), b64(log.log_id()), chain,
        rfc3339(from));
}

}  // namespace agentd::testing::forge
