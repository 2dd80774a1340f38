// age-encrypted env files (agent/sys/age): whoever commits to the deploy repository writes
// them. The input is the file (binary or ASCII-armored); the identity is fixed (the C2SP CCTV
// vectors' key, so that seeds made with `age -r` to its recipient reach the payload). The
// second part after "\n--\n", when there is one, is read as an identity file.
// Invariants: an error names its stage ("armor: ", "header: ", "header MAC: ", "payload: ",
// "no identity matches"), never shows the identity; an armored file decrypts as its dearmored
// bytes do; an identity file's error names a line or says there is none, never its text.

#include "agent/sys/age.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

constexpr std::string_view k_identity =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

bool named_stage(const std::string& message) {
    for (const std::string_view stage :
         {"armor: ", "header: ", "header MAC: ", "payload: ", "no identity matches"}) {
        if (message.starts_with(stage)) {
            return true;
        }
    }
    return false;
}

/// "line N: " and one of AgeIdentity::parse's fixed messages, or the one for no identity: a
/// text that cannot hold any of the file's content.
bool fixed_identity_error(std::string_view message) {
    if (message.starts_with("no identity (")) {
        return message.find('\n') == std::string_view::npos && message.size() < 80;
    }
    if (!message.starts_with("line ")) {
        return false;
    }
    message.remove_prefix(5);
    while (!message.empty() && message.front() >= '0' && message.front() <= '9') {
        message.remove_prefix(1);
    }
    return message == ": not an age X25519 identity (\"AGE-SECRET-KEY-1...\")" ||
           message == ": an age identity with a bad bech32 encoding or checksum" ||
           message == ": an age identity OpenSSL does not accept as an X25519 key";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto identities = [] {
        auto parsed = sys::parse_age_identities(k_identity);
        FUZZ_CHECK(parsed && parsed->size() == 1);
        return *parsed;
    }();
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));
    const std::string& file = parts.front();

    auto plaintext = sys::age_decrypt_any(file, identities);
    if (!plaintext) {
        FUZZ_CHECK(named_stage(plaintext.error().message));
        FUZZ_CHECK(plaintext.error().message.find(k_identity.substr(16)) == std::string::npos);
    }
    if (sys::is_age_armored(file)) {
        const auto binary = sys::age_dearmor(file);
        if (binary) {
            const auto again = sys::age_decrypt(*binary, identities);
            FUZZ_CHECK(again.ok() == plaintext.ok());
            FUZZ_CHECK(!again || again->view() == plaintext->view());
        } else {
            FUZZ_CHECK(!plaintext && plaintext.error().message.starts_with("armor: "));
        }
    }

    if (parts.size() > 1) {
        const auto parsed = sys::parse_age_identities(parts[1]);
        if (!parsed) {
            FUZZ_CHECK(fixed_identity_error(parsed.error().message));
        } else {
            FUZZ_CHECK(!parsed->empty());
            for (const auto& identity : *parsed) {
                FUZZ_CHECK(identity.recipient().starts_with("age1"));
            }
        }
    }
    return 0;
}
