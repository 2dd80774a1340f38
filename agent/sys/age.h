#pragma once
// age v1 files (age-encryption.org/v1, the format of Debian's `age` 1.1), decrypted in process
// with OpenSSL: X25519 recipient stanzas, the header MAC, the STREAM payload of 64 KiB
// ChaCha20-Poly1305 chunks, and the ASCII armor. Pure: the file and the identities come in as
// bytes, the plaintext goes out in memory that is wiped when it is released.
//
// Errors are InvalidInput and name what failed, never a key or a value. Their messages start
// with the stage that refused the file, the categories of the C2SP CCTV age test vectors:
// "armor: ", "header: ", "no identity matches", "header MAC: ", "payload: ".

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sys/result.h"
#include "agent/sys/secret_bytes.h"

namespace agentd::sys {

/// An X25519 identity ("AGE-SECRET-KEY-1..."): its secret scalar, wiped when destroyed, and
/// the recipient it decrypts for.
class AgeIdentity {
public:
    AgeIdentity(const AgeIdentity&) = default;
    AgeIdentity& operator=(const AgeIdentity&) = default;
    ~AgeIdentity();

    /// Parses "AGE-SECRET-KEY-1" and bech32 (one case only); InvalidInput otherwise.
    static Result<AgeIdentity> parse(std::string_view text);
    /// The recipient, "age1..." (what `age-keygen -y` prints).
    std::string recipient() const;

    const std::array<unsigned char, 32>& secret() const { return m_secret; }
    const std::array<unsigned char, 32>& public_key() const { return m_public; }

private:
    AgeIdentity() = default;
    std::array<unsigned char, 32> m_secret{};
    std::array<unsigned char, 32> m_public{};
};

/// An identity file as age-keygen writes it: one identity per line; empty lines and lines
/// starting with '#' are skipped. InvalidInput naming the line (never its content) when a line
/// is not an identity, or when there is no identity at all.
Result<std::vector<AgeIdentity>> parse_age_identities(std::string_view text);

/// True when `file` is ASCII-armored: "-----BEGIN AGE ENCRYPTED FILE-----" after optional
/// leading whitespace.
bool is_age_armored(std::string_view file);

/// The binary age file inside an armored one (strict, as age's armor reader: 64 columns,
/// canonical padded base64, LF or CRLF, whitespace only around the armor).
Result<std::string> age_dearmor(std::string_view armored);

/// The plaintext of a binary age file for the first identity that unwraps its file key.
Result<SecretBytes> age_decrypt(std::string_view file, const std::vector<AgeIdentity>& identities);

/// age_decrypt of a binary or an armored file (is_age_armored decides).
Result<SecretBytes> age_decrypt_any(std::string_view file,
                                    const std::vector<AgeIdentity>& identities);

}  // namespace agentd::sys
