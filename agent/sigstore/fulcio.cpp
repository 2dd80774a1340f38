#include "agent/sigstore/fulcio.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "agent/sys/quote.h"

namespace agentd::sigstore {

namespace {

constexpr std::size_t k_max_certificates = 10;
constexpr std::size_t k_max_certificate_size = 64 * 1024;
// Fulcio's "username" otherName (SAN) for identities that are neither emails nor URIs.
constexpr const char* k_username_oid = "1.3.6.1.4.1.57264.1.7";

struct X509Free {
    void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parse_der(std::string_view der) {
    if (der.empty() || der.size() > k_max_certificate_size) {
        return nullptr;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        ERR_clear_error();
        return nullptr;
    }
    return cert;
}

std::string to_der(X509* cert) {
    unsigned char* out = nullptr;
    const int length = i2d_X509(cert, &out);
    if (length <= 0) {
        return {};
    }
    std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
    return der;
}

sys::TimePoint time_of(const ASN1_TIME* time) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        return {};
    }
    // Certificates may say 9999-12-31; TimePoint counts nanoseconds in 64 bits (about the
    // years 1678 to 2262), so clamp to what it holds (285 years either side of 1970).
    constexpr std::time_t k_limit = 9'000'000'000;
    const std::time_t seconds = std::clamp<std::time_t>(timegm(&tm), -k_limit, k_limit);
    return std::chrono::system_clock::from_time_t(seconds);
}

std::string asn1_text(const ASN1_STRING* text) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                       static_cast<std::size_t>(ASN1_STRING_length(text)));
}

/// The SAN: the first email, else the first URI, else Fulcio's username otherName.
std::optional<std::string> subject_alternative_name(X509* cert) {
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) {
        return std::nullopt;
    }
    std::optional<std::string> email;
    std::optional<std::string> uri;
    std::optional<std::string> username;
    ASN1_OBJECT* username_oid = OBJ_txt2obj(k_username_oid, 1);
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_EMAIL && !email) {
            email = asn1_text(name->d.rfc822Name);
        } else if (name->type == GEN_URI && !uri) {
            uri = asn1_text(name->d.uniformResourceIdentifier);
        } else if (name->type == GEN_OTHERNAME && !username && username_oid != nullptr &&
                   OBJ_cmp(name->d.otherName->type_id, username_oid) == 0 &&
                   name->d.otherName->value->type == V_ASN1_UTF8STRING) {
            username = asn1_text(name->d.otherName->value->value.utf8string);
        }
    }
    ASN1_OBJECT_free(username_oid);
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    if (email) {
        return email;
    }
    return uri ? uri : username;
}

/// The contents of the extension `oid`, nullopt when absent.
std::optional<std::string> extension_value(X509* cert, std::string_view oid) {
    ASN1_OBJECT* object = OBJ_txt2obj(std::string(oid).c_str(), 1);
    if (object == nullptr) {
        ERR_clear_error();
        return std::nullopt;
    }
    const int index = X509_get_ext_by_OBJ(cert, object, -1);
    ASN1_OBJECT_free(object);
    if (index < 0) {
        return std::nullopt;
    }
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, index));
    return asn1_text(data);
}

/// The OIDC issuer: the DER UTF8String of .1.8, or the raw bytes of the legacy .1.1.
sys::Result<std::string> oidc_issuer(X509* cert) {
    std::optional<std::string> issuer;
    if (const auto v2 = extension_value(cert, k_fulcio_issuer_oid)) {
        const auto* p = reinterpret_cast<const unsigned char*>(v2->data());
        ASN1_UTF8STRING* text = d2i_ASN1_UTF8STRING(nullptr, &p, static_cast<long>(v2->size()));
        if (text == nullptr ||
            p != reinterpret_cast<const unsigned char*>(v2->data()) + v2->size()) {
            ASN1_UTF8STRING_free(text);
            ERR_clear_error();
            return sys::Error::invalid(
                fmt::format("the certificate's issuer extension {} is not a DER UTF8String",
                            k_fulcio_issuer_oid));
        }
        issuer = asn1_text(text);
        ASN1_UTF8STRING_free(text);
    }
    if (const auto v1 = extension_value(cert, k_fulcio_legacy_issuer_oid)) {
        if (issuer && *issuer != *v1) {
            return sys::Error::invalid(fmt::format(
                "the certificate names two issuers: {} ({}) and {} ({})", sys::quoted(*issuer),
                k_fulcio_issuer_oid, sys::quoted(*v1), k_fulcio_legacy_issuer_oid));
        }
        issuer = *v1;
    }
    if (!issuer || issuer->empty()) {
        return sys::Error::invalid(fmt::format(
            "the certificate has no OIDC issuer extension ({} or {}): not a Fulcio certificate",
            k_fulcio_issuer_oid, k_fulcio_legacy_issuer_oid));
    }
    return *issuer;
}

std::string public_key_der(X509* cert) {
    unsigned char* out = nullptr;
    const int length = i2d_PUBKEY(X509_get0_pubkey(cert), &out);
    if (length <= 0) {
        ERR_clear_error();
        return {};
    }
    std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
    return der;
}

std::string describe(const CertificateAuthority& ca) {
    std::string name = ca.subject.empty() ? "certificate authority" : ca.subject;
    return ca.uri.empty() ? name : fmt::format("{} ({})", name, ca.uri);
}

std::string rfc3339(sys::TimePoint t) {
    return sys::format_rfc3339(t);
}

/// Why `leaf` does not chain to `ca` at `time`, or nullopt when it does.
std::optional<std::string> chain_failure(X509* leaf, const CertificateAuthority& ca,
                                         const std::vector<X509Ptr>& offered, sys::TimePoint time) {
    std::vector<X509Ptr> ca_certificates;
    for (const auto& der : ca.certificates) {
        auto cert = parse_der(der);
        if (!cert) {
            return "a certificate of the CA does not parse";
        }
        ca_certificates.push_back(std::move(cert));
    }
    X509_STORE* store = X509_STORE_new();
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    std::optional<std::string> failure;
    if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
        failure = "out of memory";
    } else {
        // The chain's last certificate is the trust anchor (self-signed or not, as Go's
        // x509 roots pool treats it); the others, and the certificates offered with the
        // signature, may only be intermediates.
        X509_STORE_add_cert(store, ca_certificates.back().get());
        for (std::size_t i = 0; i + 1 < ca_certificates.size(); ++i) {
            sk_X509_push(untrusted, ca_certificates[i].get());
        }
        for (const auto& cert : offered) {
            sk_X509_push(untrusted, cert.get());
        }
        if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
            failure = "OpenSSL could not set up the verification";
        } else {
            X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
            X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(time));
            X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
            if (X509_verify_cert(ctx) != 1) {
                const int code = X509_STORE_CTX_get_error(ctx);
                failure = code == X509_V_ERR_CERT_HAS_EXPIRED
                              ? std::string("a certificate of the chain had expired")
                          : code == X509_V_ERR_CERT_NOT_YET_VALID
                              ? std::string("a certificate of the chain was not valid yet")
                              : std::string(X509_verify_cert_error_string(code));
            } else {
                // Go's x509 (sigstore-go) rule: every certificate of the chain that restricts
                // its extended key usage must allow code signing.
                STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
                for (int i = 0; i < sk_X509_num(chain) && !failure; ++i) {
                    X509* cert = sk_X509_value(chain, i);
                    if ((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0 &&
                        (X509_get_extended_key_usage(cert) & (XKU_CODE_SIGN | XKU_ANYEKU)) == 0) {
                        failure = i == 0 ? "the certificate does not allow code signing"
                                         : "a CA certificate of the chain does not allow code "
                                           "signing";
                    }
                }
            }
        }
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);  // the certificates are owned by the vectors
    X509_STORE_free(store);
    ERR_clear_error();
    return failure;
}

}  // namespace

sys::Result<std::vector<std::string>> certificates_from_pem(std::string_view pem) {
    if (pem.size() > k_max_certificates * k_max_certificate_size) {
        return sys::Error::invalid("the PEM certificates are too large");
    }
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) {
        return sys::Error::failed("out of memory reading PEM certificates");
    }
    std::vector<std::string> out;
    ERR_clear_error();  // the queue is read below to tell the end of the text from an error
    while (out.size() <= k_max_certificates) {
        X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
        if (!cert) {
            break;
        }
        out.push_back(to_der(cert.get()));
    }
    // The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a block that does not
    // parse; only the first is fine.
    const unsigned long error = ERR_peek_last_error();
    const bool clean_end = error == 0 || (ERR_GET_LIB(error) == ERR_LIB_PEM &&
                                          ERR_GET_REASON(error) == PEM_R_NO_START_LINE);
    ERR_clear_error();
    BIO_free(bio);
    if (out.size() > k_max_certificates) {
        return sys::Error::invalid(
            fmt::format("more than {} PEM certificates", k_max_certificates));
    }
    if (!clean_end) {
        return sys::Error::invalid(
            fmt::format("PEM certificate {} does not parse", out.size() + 1));
    }
    if (out.empty()) {
        return sys::Error::invalid("no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return out;
}

sys::Result<bool> is_self_signed(std::string_view der) {
    const auto cert = parse_der(der);
    if (!cert) {
        return sys::Error::invalid("the certificate is not DER X.509");
    }
    return X509_check_issued(cert.get(), cert.get()) == X509_V_OK;
}

sys::Result<FulcioIdentity> read_fulcio_identity(std::string_view leaf_der) {
    auto cert = parse_der(leaf_der);
    if (!cert) {
        return sys::Error::invalid("the signing certificate is not a DER X.509 certificate");
    }
    FulcioIdentity out;
    auto san = subject_alternative_name(cert.get());
    if (!san || san->empty()) {
        return sys::Error::invalid(
            "the signing certificate has no email, URI or username Subject Alternative Name");
    }
    out.identity = std::move(*san);
    auto issuer = oidc_issuer(cert.get());
    if (!issuer) {
        return issuer.error();
    }
    out.issuer = std::move(*issuer);
    out.not_before = time_of(X509_get0_notBefore(cert.get()));
    out.not_after = time_of(X509_get0_notAfter(cert.get()));
    out.public_key = public_key_der(cert.get());
    if (out.public_key.empty()) {
        return sys::Error::invalid("the signing certificate's public key cannot be read");
    }
    return out;
}

sys::Result<VerifiedCertificate> verify_fulcio_certificate(
    const TrustedRoot& root, std::string_view leaf_der,
    const std::vector<std::string>& intermediates, sys::TimePoint signing_time) {
    auto identity = read_fulcio_identity(leaf_der);
    if (!identity) {
        return identity.error();
    }
    auto leaf = parse_der(leaf_der);
    std::vector<X509Ptr> offered;
    for (std::size_t i = 0; i < intermediates.size() && i < k_max_certificates; ++i) {
        auto cert = parse_der(intermediates[i]);
        if (!cert) {
            return sys::Error::invalid(fmt::format(
                "certificate {} of the signature's chain is not a DER X.509 certificate", i + 1));
        }
        offered.push_back(std::move(cert));
    }
    if (root.certificate_authorities.empty()) {
        return sys::Error::invalid("the trusted root has no certificate authority");
    }
    std::vector<std::string> reasons;
    for (const auto& ca : root.certificate_authorities) {
        if (!ca.valid_for.contains(signing_time)) {
            reasons.push_back(fmt::format("{}: not trusted at the signing time", describe(ca)));
            continue;
        }
        if (auto failure = chain_failure(leaf.get(), ca, offered, signing_time)) {
            reasons.push_back(fmt::format("{}: {}", describe(ca), *failure));
            continue;
        }
        return VerifiedCertificate{std::move(*identity), describe(ca)};
    }
    std::string why;
    for (const auto& reason : reasons) {
        why += (why.empty() ? "" : "; ") + reason;
    }
    return sys::Error::invalid(fmt::format(
        "the signing certificate of {} (valid {} to {}) does not chain to the trusted root at "
        "the signing time {}: {}",
        sys::quoted(identity->identity), rfc3339(identity->not_before),
        rfc3339(identity->not_after), rfc3339(signing_time), why));
}

}  // namespace agentd::sigstore
