#include "agent/sources/known_hosts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <string>

namespace unit_sources_known_hosts_test {

using agentd::sources::check_known_host;
using agentd::sources::HostKeyStatus;

namespace {

std::string base64(const std::string& data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

/// An SSH wire-format ed25519 key blob (the bytes do not need to be a real key here).
std::string key_blob(char fill) {
    const std::string type = "ssh-ed25519";
    std::string blob("\0\0\0\x0b", 4);
    blob += type;
    blob += std::string("\0\0\0\x20", 4);
    blob += std::string(32, fill);
    return blob;
}

std::string line(const std::string& hosts, const std::string& blob) {
    return hosts + " ssh-ed25519 " + base64(blob) + " comment\n";
}

/// "|1|salt|hmac" as `ssh-keygen -H` writes it.
std::string hashed(const std::string& name, const std::string& salt) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
         reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest, &length);
    return "|1|" + base64(salt) + "|" +
           base64(std::string(reinterpret_cast<const char*>(digest), length));
}

}  // namespace

TEST_CASE("known_hosts: a listed host with its key matches", "[sources][git]") {
    const auto key = key_blob('a');
    const auto text = "# comment\n\n" + line("other.example", key_blob('b')) +
                      line("git.example.com,10.0.0.1", key);
    CHECK(check_known_host(text, "git.example.com", 22, key) == HostKeyStatus::Match);
    CHECK(check_known_host(text, "10.0.0.1", 22, key) == HostKeyStatus::Match);
    CHECK(check_known_host(text, "GIT.example.com", 22, key) == HostKeyStatus::Match);
}

TEST_CASE("known_hosts: another key for a known host is a mismatch", "[sources][git]") {
    const auto text = line("git.example.com", key_blob('a'));
    CHECK(check_known_host(text, "git.example.com", 22, key_blob('z')) == HostKeyStatus::Mismatch);
    CHECK(check_known_host(text, "unknown.example.com", 22, key_blob('a')) ==
          HostKeyStatus::Unknown);
}

TEST_CASE("known_hosts: non-default ports are written [host]:port", "[sources][git]") {
    const auto key = key_blob('a');
    const auto text = line("[127.0.0.1]:2222", key);
    CHECK(check_known_host(text, "127.0.0.1", 2222, key) == HostKeyStatus::Match);
    CHECK(check_known_host(text, "127.0.0.1", 22, key) == HostKeyStatus::Unknown);
}

TEST_CASE("known_hosts: hashed names, wildcards and negation", "[sources][git]") {
    const auto key = key_blob('a');
    CHECK(check_known_host(line(hashed("git.example.com", "0123456789abcdefghij"), key),
                           "git.example.com", 22, key) == HostKeyStatus::Match);
    CHECK(check_known_host(line(hashed("git.example.com", "0123456789abcdefghij"), key),
                           "evil.example.com", 22, key) == HostKeyStatus::Unknown);
    const auto wildcard = line("*.example.com,!bad.example.com", key);
    CHECK(check_known_host(wildcard, "git.example.com", 22, key) == HostKeyStatus::Match);
    CHECK(check_known_host(wildcard, "bad.example.com", 22, key) == HostKeyStatus::Unknown);
    CHECK(check_known_host(line("git?.example.com", key), "git1.example.com", 22, key) ==
          HostKeyStatus::Match);
}

TEST_CASE("known_hosts: a @revoked key never matches", "[sources][git]") {
    const auto key = key_blob('a');
    const auto text = line("git.example.com", key) + "@revoked " + line("*", key);
    CHECK(check_known_host(text, "git.example.com", 22, key) == HostKeyStatus::Mismatch);
    // Certificate authorities are not supported: such a line names no host key.
    CHECK(check_known_host("@cert-authority " + line("*", key), "git.example.com", 22, key) ==
          HostKeyStatus::Unknown);
}

TEST_CASE("known_hosts: malformed lines are skipped", "[sources][git]") {
    const auto key = key_blob('a');
    const auto text = "git.example.com ssh-ed25519 !!!notbase64\ngit.example.com\n" +
                      line("git.example.com", key);
    CHECK(check_known_host(text, "git.example.com", 22, key) == HostKeyStatus::Match);
}

}  // namespace unit_sources_known_hosts_test
