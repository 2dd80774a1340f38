#include "agent/sys/secret_bytes.h"

#include <openssl/crypto.h>

namespace agentd::sys {

SecretBytes::SecretBytes(std::string&& bytes) : m_bytes(std::move(bytes)) {
    wipe(bytes);
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : m_bytes(std::move(other.m_bytes)) {
    other.wipe();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
        wipe();
        m_bytes = std::move(other.m_bytes);
        other.wipe();
    }
    return *this;
}

SecretBytes::~SecretBytes() {
    wipe();
}

void SecretBytes::wipe() {
    wipe(m_bytes);
}

void SecretBytes::wipe(std::string& bytes) {
    // Up to the capacity: a moved-from short string keeps its characters in its own buffer.
    OPENSSL_cleanse(bytes.data(), bytes.capacity());
    bytes.clear();
}

}  // namespace agentd::sys
