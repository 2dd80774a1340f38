#pragma once
// Fulcio's keyless signing certificates: short-lived (10 minutes) X.509 certificates binding a
// signing key to an OIDC identity. The identity is the certificate's Subject Alternative Name
// (a URI for CI workloads such as GitHub Actions, an email for people); the OIDC issuer that
// vouched for it is in Fulcio's extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String) or, in
// certificates from before 2023, 1.3.6.1.4.1.57264.1.1 (the raw string bytes).
//
// A certificate is trusted when it chains to a certificate authority of the trusted root that
// was valid at the signing time, with every certificate of the chain valid at that time (the
// "hybrid model" of Sigstore's spec: the leaf has long expired when agentd checks it, so the
// time is the one a transparency log vouches for), and the leaf allows code signing.
// OpenSSL does the chain building and the signatures.

#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"
#include "agent/sigstore/trusted_root.h"

namespace agentd::sigstore {

inline constexpr std::string_view k_fulcio_issuer_oid = "1.3.6.1.4.1.57264.1.8";
inline constexpr std::string_view k_fulcio_legacy_issuer_oid = "1.3.6.1.4.1.57264.1.1";

/// Who a Fulcio certificate was issued to, read without checking anything else.
struct FulcioIdentity {
    std::string identity;  ///< the SAN: email, URI or Fulcio's username otherName
    std::string issuer;    ///< the OIDC issuer URL
    sys::TimePoint not_before;
    sys::TimePoint not_after;
    std::string public_key;  ///< DER SubjectPublicKeyInfo of the signing key
};

/// A certificate that chained to the trusted root.
struct VerifiedCertificate {
    FulcioIdentity leaf;
    std::string ca;  ///< the CA it chained to: its subject and URI from the trusted root
};

/// The certificates of PEM text (cosign's certificate and chain annotations), as DER, in
/// order. InvalidInput when there is none, or a block does not parse; at most 10.
sys::Result<std::vector<std::string>> certificates_from_pem(std::string_view pem);

/// Whether a DER certificate is self-signed (its own issuer: a root CA). InvalidInput when it
/// does not parse.
sys::Result<bool> is_self_signed(std::string_view der);

/// Reads the identity, issuer, validity and key of a DER certificate. InvalidInput when it
/// does not parse, has no SAN of a supported kind, or no issuer extension (or two that
/// disagree).
sys::Result<FulcioIdentity> read_fulcio_identity(std::string_view leaf_der);

/// Verifies that `leaf_der` chains to one of `root`'s certificate authorities whose validFor
/// contains `signing_time`, with the chain checked at `signing_time` and the leaf's extended
/// key usage including code signing. `intermediates` (DER) are offered as untrusted
/// certificates for building the chain, besides the CA's own. InvalidInput saying what failed
/// for each CA tried ("certificate expired at the signing time", "does not chain to ...").
sys::Result<VerifiedCertificate> verify_fulcio_certificate(
    const TrustedRoot& root, std::string_view leaf_der,
    const std::vector<std::string>& intermediates, sys::TimePoint signing_time);

}  // namespace agentd::sigstore
