#pragma once
// IdentityPattern: what a keyless signer's identity (the certificate's SAN, a URI or an email)
// or OIDC issuer must be, as written in `verify.cosign.identity` / `issuer`:
// - "regex:PATTERN": PCRE2 (the engine of the `regex:` tag policies, agent/policy/tag_pattern),
//   matched against the WHOLE value (anchored at both ends; cosign's
//   --certificate-identity-regexp matches anywhere, so "^...$" patterns mean the same in both);
// - a glob when the text holds '*' or '?': '*' matches any run of characters, '/' included
//   (unlike Go's path.Match, so "https://github.com/acme/*" covers every workflow path of
//   acme), '?' exactly one character, '\' makes the next character literal;
// - otherwise the exact string.
// Matching is case-sensitive byte comparison, as cosign's.

#include <memory>
#include <string>
#include <string_view>

#include "agent/sys/result.h"

struct pcre2_real_code_8;

namespace agentd::sigstore {

class IdentityPattern {
public:
    enum class Kind { Exact, Glob, Regex };

    /// Compiles `text`. InvalidInput for an empty text or a regex PCRE2 refuses (with its
    /// message and offset).
    static sys::Result<IdentityPattern> parse(std::string_view text);

    bool matches(std::string_view value) const;

    Kind kind() const { return m_kind; }
    /// As written, "regex:" included: what messages and events show.
    const std::string& text() const { return m_text; }

private:
    Kind m_kind = Kind::Exact;
    std::string m_text;
    std::string m_body;                         ///< the text without "regex:"
    std::shared_ptr<pcre2_real_code_8> m_code;  ///< immutable once compiled; shared by copies
};

/// True when `glob` (the syntax above) matches all of `value`.
bool glob_matches(std::string_view glob, std::string_view value);

}  // namespace agentd::sigstore
