#include "agent/sys/age.h"

#include <zlib.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "agent/sys/base64.h"
#include "agent/sys/digest.h"
#include "agent/sys/files.h"
#include "agent/sys/process.h"
#include "tests/unit/temp_dir.h"

namespace unit_sys_age_test {

using namespace agentd;

namespace {

struct Vector {
    const char* name;
    const char* expect;
    const char* payload_sha256;
    const char* identity;
    bool armored;
    bool compressed;
    const char* file_base64;
};

const Vector k_vectors[] = {
#include "tests/unit/sys/age_cctv_vectors.inc"
};

// The identity most CCTV vectors are encrypted to, for vectors that name none.
constexpr const char* k_cctv_identity =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

std::string inflated(const std::string& compressed) {
    z_stream stream{};
    REQUIRE(inflateInit(&stream) == Z_OK);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    char buffer[1 << 16];
    int status = Z_OK;
    while (status == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        status = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - stream.avail_out);
    }
    inflateEnd(&stream);
    REQUIRE(status == Z_STREAM_END);
    return out;
}

std::string file_of(const Vector& v) {
    std::string encoded(v.file_base64);
    std::string file;
    if (!encoded.empty()) {
        auto decoded = sys::base64_decode(encoded);
        REQUIRE(decoded);
        file = *decoded;
    }
    return v.compressed ? inflated(file) : file;
}

/// The CCTV outcome name of an error of agentd's reader.
std::string outcome_of(const sys::Error& error) {
    const std::string& m = error.message;
    if (m.starts_with("armor: "))
        return "armor failure";
    if (m.starts_with("header: "))
        return "header failure";
    if (m.starts_with("header MAC: "))
        return "HMAC failure";
    if (m.starts_with("payload: "))
        return "payload failure";
    if (m.starts_with("no identity matches"))
        return "no match";
    return "unexpected error: " + m;
}

std::vector<sys::AgeIdentity> identities(const std::string& text) {
    auto parsed = sys::parse_age_identities(text);
    REQUIRE(parsed);
    return *parsed;
}

sys::ProcessResult run(const std::vector<std::string>& argv,
                       std::optional<std::string> input = std::nullopt) {
    sys::PosixProcessRunner runner;
    auto result = runner.run({.argv = argv, .stdin_data = std::move(input)});
    REQUIRE(result);
    INFO(argv[0] << ": " << result->err);
    REQUIRE(result->success());
    return *result;
}

}  // namespace

TEST_CASE("age: the C2SP CCTV vectors decrypt or fail as age itself does") {
    REQUIRE(std::size(k_vectors) == 98);  // every X25519, armor, header and STREAM vector
    for (const auto& v : k_vectors) {
        INFO("vector " << v.name);
        const std::string file = file_of(v);
        const auto ids = identities(*v.identity ? v.identity : k_cctv_identity);
        // An armored vector is read through the armor, as age's test kit does.
        sys::Result<std::string> binary = file;
        if (v.armored) {
            binary = sys::age_dearmor(file);
        }
        std::string outcome;
        std::string digest;
        if (!binary) {
            outcome = outcome_of(binary.error());
        } else if (auto plaintext = sys::age_decrypt(*binary, ids)) {
            outcome = "success";
            digest = sys::hex_encode(sys::sha256(plaintext->view()));
        } else {
            outcome = outcome_of(plaintext.error());
        }
        CHECK(outcome == v.expect);
        if (outcome == "success") {
            CHECK(digest == v.payload_sha256);
        }
    }
}

TEST_CASE("age: an armored vector decrypts through age_decrypt_any, a binary one too") {
    const auto ids = identities(k_cctv_identity);
    for (const auto& v : k_vectors) {
        const std::string name = v.name;
        if (name != "armor_x25519" && name != "x25519" && name != "armor_whitespace_outside") {
            continue;
        }
        INFO("vector " << name);
        auto plaintext = sys::age_decrypt_any(file_of(v), ids);
        REQUIRE(plaintext);
        CHECK(sys::hex_encode(sys::sha256(plaintext->view())) == v.payload_sha256);
    }
}

TEST_CASE("age: identity files hold comments, blank lines and several keys") {
    const std::string text = std::string(
                                 "# created: 2026-01-01T00:00:00Z\n"
                                 "# public key: age1...\n\n") +
                             k_cctv_identity + "\r\n  \n" + k_cctv_identity + "\n";
    const auto parsed = sys::parse_age_identities(text);
    REQUIRE(parsed);
    CHECK(parsed->size() == 2);
}

TEST_CASE("age: a bad identity line is named by number, never shown") {
    std::string key = k_cctv_identity;
    key[20] = key[20] == 'Q' ? 'P' : 'Q';  // breaks the bech32 checksum
    const auto parsed = sys::parse_age_identities("# comment\n" + key + "\n");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(parsed.error().message.starts_with("line 2: "));
    CHECK(parsed.error().message.find(key) == std::string::npos);
    CHECK(parsed.error().message.find(key.substr(16, 20)) == std::string::npos);

    const auto mixed = sys::parse_age_identities(
        "AGE-SECRET-KEY-1egtzvffv20835nwyv6270lxyvk2vknx2mmdkwyklmgr48uawx40q2p2lm0\n");
    CHECK_FALSE(mixed);
    CHECK_FALSE(sys::parse_age_identities("# only comments\n\n"));
    CHECK_FALSE(sys::parse_age_identities("age1qqq\n"));
}

TEST_CASE("age: files made by Debian's age decrypt; another key's are no match") {
    testing::TempDir dir;
    const auto key_file = dir.path() / "key.txt";
    const auto other_file = dir.path() / "other.txt";
    run({"age-keygen", "-o", key_file.string()});
    run({"age-keygen", "-o", other_file.string()});
    const auto key_text = sys::read_file(key_file);
    REQUIRE(key_text);
    const auto ids = identities(*key_text);
    REQUIRE(ids.size() == 1);
    const std::string recipient =
        run({"age-keygen", "-y", key_file.string()}).out.substr(0, ids[0].recipient().size());
    // Our recipient is age-keygen's: the public key is derived as age derives it.
    CHECK(ids[0].recipient() == recipient);

    // Sizes around the 64 KiB chunk: empty, small, exactly one chunk, one chunk and a byte.
    for (const std::size_t size : {std::size_t{0}, std::size_t{100}, std::size_t{65536},
                                   std::size_t{65537}, std::size_t{200000}}) {
        std::string plaintext;
        for (std::size_t i = 0; i < size; ++i) {
            plaintext += static_cast<char>('A' + (i * 7 + i / 13) % 26);
        }
        for (const bool armor : {false, true}) {
            INFO("size " << size << (armor ? " armored" : " binary"));
            std::vector<std::string> argv = {"age", "-r", recipient};
            if (armor) {
                argv.push_back("-a");
            }
            const auto encrypted = run(argv, plaintext).out;
            CHECK(sys::is_age_armored(encrypted) == armor);
            auto decrypted = sys::age_decrypt_any(encrypted, ids);
            REQUIRE(decrypted);
            CHECK(decrypted->view() == plaintext);

            auto other = sys::age_decrypt_any(encrypted, identities(*sys::read_file(other_file)));
            REQUIRE_FALSE(other);
            CHECK(outcome_of(other.error()) == "no match");
        }
    }

    // Two recipients: either identity decrypts; the identity file may hold the other key first.
    const std::string other_recipient = run({"age-keygen", "-y", other_file.string()}).out;
    const auto both =
        run({"age", "-r", recipient, "-r", other_recipient.substr(0, other_recipient.find('\n'))},
            "SECRET=1\n")
            .out;
    auto decrypted = sys::age_decrypt_any(both, identities(*sys::read_file(other_file)));
    REQUIRE(decrypted);
    CHECK(decrypted->view() == "SECRET=1\n");

    // A flipped bit in the payload is a payload failure, in the header a MAC failure.
    std::string damaged = run({"age", "-r", recipient}, "SECRET=1\n").out;
    damaged[damaged.size() - 3] ^= 1;
    auto payload = sys::age_decrypt_any(damaged, ids);
    REQUIRE_FALSE(payload);
    CHECK(outcome_of(payload.error()) == "payload failure");
}

TEST_CASE("age: SecretBytes moves its bytes and leaves nothing behind") {
    std::string source = "short-secret";  // in the string's own buffer, which a move copies
    sys::SecretBytes a(std::move(source));
    // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from buffer is what is checked
    CHECK(std::string_view(source.data(), source.capacity()).find("secret") == std::string::npos);
    sys::SecretBytes b(std::move(a));
    CHECK(b.view() == "short-secret");
    CHECK(a.view().empty());  // NOLINT(bugprone-use-after-move): moved-from is defined empty
}

}  // namespace unit_sys_age_test
