#pragma once
// DSSE's signing input and the in-toto statements Sigstore bundles carry, parsed without I/O.
//
// A DSSE envelope (github.com/secure-systems-lab/dsse, protocol.md) is not signed over its
// payload but over the "pre-authentication encoding" of the payload and its type:
//   "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
// with LEN the byte count in ASCII decimal, so that a signature over one type cannot be
// replayed as another. When the type is application/vnd.in-toto+json the payload is an in-toto
// statement (in-toto attestation framework, v1 or v0.1):
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": "ghcr.io/acme/web", "digest": {"sha256": "<hex>"}}],
//    "predicateType": "https://slsa.dev/provenance/v1", "predicate": {...}}
// and what it attests is about its subjects: for an image, one subject's sha256 digest must be
// the image's manifest digest.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/result.h"
#include "agent/sigstore/signed_content.h"  // dsse_pae

namespace agentd::sigstore {

inline constexpr std::string_view k_in_toto_payload_type = "application/vnd.in-toto+json";
inline constexpr std::string_view k_in_toto_statement_v1 = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view k_in_toto_statement_v01 = "https://in-toto.io/Statement/v0.1";

struct InTotoSubject {
    std::string name;
    std::map<std::string, std::string> digest;  ///< algorithm ("sha256") -> hex, as written
};

struct InTotoStatement {
    std::string type;  ///< _type: k_in_toto_statement_v1 or k_in_toto_statement_v01
    std::vector<InTotoSubject> subjects;  ///< at least one
    std::string predicate_type;
};

/// Parses a statement. InvalidInput, naming the field, for a payload that is not a JSON
/// object, a _type other than Statement v1 or v0.1, a missing or empty "subject" array (at most
/// 1024 subjects are read), a subject without a "digest" object of strings, or a
/// predicateType that is not a string. The predicate itself is not read.
sys::Result<InTotoStatement> parse_in_toto_statement(std::string_view payload);

/// Checks that one of the statement's subjects names `digest` ("sha256:<hex>", the image
/// being deployed) by its sha256 digest (hex compared case-insensitively). nullopt when it
/// does, else what failed, worded to follow "the in-toto statement ".
std::optional<std::string> check_subject_digest(const InTotoStatement& statement,
                                                std::string_view digest);

}  // namespace agentd::sigstore
