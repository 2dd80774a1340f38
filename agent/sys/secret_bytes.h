#pragma once
// Bytes holding a secret (a decrypted file, a key), wiped when released.

#include <string>
#include <string_view>

namespace agentd::sys {

/// Bytes that are wiped (OPENSSL_cleanse) when destroyed or assigned over. Move-only, so that
/// a secret is not copied by accident; `view()` lends it.
class SecretBytes {
public:
    SecretBytes() = default;
    /// Takes `bytes` over and wipes what a move leaves in it (a short string's own buffer).
    explicit SecretBytes(std::string&& bytes);
    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    ~SecretBytes();

    std::string_view view() const { return m_bytes; }
    std::size_t size() const { return m_bytes.size(); }

private:
    void wipe();
    /// Wipes `bytes` up to its capacity, then empties it.
    static void wipe(std::string& bytes);
    std::string m_bytes;
};

}  // namespace agentd::sys
