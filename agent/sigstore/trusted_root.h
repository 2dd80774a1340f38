#pragma once
// Sigstore's trusted root (trusted_root.json, media type
// application/vnd.dev.sigstore.trustedroot+json;version=0.1): the certificate authorities
// (Fulcio) keyless certificates must chain to, the transparency logs (Rekor) whose keys sign
// log entries and checkpoints, the certificate transparency logs and the timestamp
// authorities, each with the period it may be trusted for. Parsed without I/O, from the
// protobuf-JSON form sigstore's clients write: byte strings are base64, times RFC 3339.
//
// Only what keyless verification uses is kept; unknown keys are allowed (the format grows).
// Every certificate and key is parsed once here by OpenSSL, so a root that loads holds no
// material that fails later.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::sigstore {

inline constexpr std::string_view k_trusted_root_media_type =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// A trusted root is a few KiB (the public-good one is about 7); far more than any real one.
inline constexpr std::size_t k_max_trusted_root_size = 1024 * 1024;

/// When a CA or key may be trusted: `start` inclusive, `end` inclusive (sigstore-go's rule);
/// an absent end is open.
struct ValidityPeriod {
    std::optional<sys::TimePoint> start;
    std::optional<sys::TimePoint> end;
    bool contains(sys::TimePoint t) const { return (!start || *start <= t) && (!end || t <= *end); }
};

/// A Fulcio CA (or a timestamp authority): its chain, leaf-most first, the root last.
struct CertificateAuthority {
    std::string subject;  ///< "O=sigstore.dev, CN=sigstore", from the JSON's subject
    std::string uri;      ///< "https://fulcio.sigstore.dev"; may be empty
    std::vector<std::string> certificates;  ///< DER, at least one
    ValidityPeriod valid_for;
};

/// A transparency log (Rekor) or certificate transparency log instance.
struct TransparencyLog {
    std::string base_url;      ///< "https://rekor.sigstore.dev"
    std::string public_key;    ///< DER SubjectPublicKeyInfo
    std::string key_details;   ///< "PKIX_ECDSA_P256_SHA_256"
    std::string log_id;        ///< raw bytes (SHA-256 of public_key for Rekor); never empty
    ValidityPeriod valid_for;  ///< start always set
};

struct TrustedRoot {
    std::vector<CertificateAuthority> certificate_authorities;
    std::vector<TransparencyLog> tlogs;
    std::vector<TransparencyLog> ctlogs;
    std::vector<CertificateAuthority> timestamp_authorities;

    /// The transparency log whose log ID is `log_id` (raw bytes); nullptr when none.
    const TransparencyLog* find_tlog(std::string_view log_id) const;
};

/// Parses trusted_root.json. InvalidInput naming the field and what is wrong ("tlogs[0].
/// publicKey.rawBytes is not base64") for anything that is not a trusted root of media type
/// version 0.1: a missing or malformed required field, a certificate or key OpenSSL cannot
/// parse, a hash algorithm other than SHA2_256, more than 64 entries in a list or 10
/// certificates in a chain, or input above k_max_trusted_root_size. A log without logId gets
/// the SHA-256 of its key, as Rekor defines it.
sys::Result<TrustedRoot> parse_trusted_root(std::string_view json);

/// Reads and parses the trusted root in `file` (the one I/O of this layer, as
/// sys::PublicKey::load): the error names the file, NotFound when it is absent.
sys::Result<TrustedRoot> load_trusted_root(const std::filesystem::path& file);

}  // namespace agentd::sigstore
