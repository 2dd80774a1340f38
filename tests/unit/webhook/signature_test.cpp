#include "agent/webhook/signature.h"

#include <catch2/catch.hpp>

#include "agent/sys/digest.h"
#include "agent/sys/process.h"

namespace unit_webhook_signature_test {

using namespace agentd;
using webhook::Headers;
using webhook::Provider;

namespace {

// The hex HMAC-SHA256 `openssl dgst` computes: a second implementation to check against.
std::string openssl_hmac_hex(const std::string& key, const std::string& data) {
    sys::PosixProcessRunner runner;
    sys::ProcessSpec spec;
    spec.argv = {"openssl", "dgst", "-sha256", "-hmac", key, "-r"};
    spec.stdin_data = data;
    auto result = runner.run(spec);
    REQUIRE(result.ok());
    INFO(result->err);
    REQUIRE(result->success());
    // "-r" prints "<hex> *stdin".
    return result->out.substr(0, result->out.find(' '));
}

// GitHub's documented test values ("Validating webhook deliveries", docs.github.com).
const std::string k_docs_secret = "It's a Secret to Everybody";
const std::string k_docs_payload = "Hello, World!";
const std::string k_docs_signature =
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

bool github_accepts(const std::string& secret, const std::string& header, const std::string& body) {
    return webhook::check_signature(Provider::GitHub, secret, {{"X-Hub-Signature-256", header}},
                                    body)
        .ok();
}

std::string upper(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'f') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return text;
}

}  // namespace

TEST_CASE("webhook signature: HMAC-SHA256 gives GitHub's documented test value",
          "[webhook][signature]") {
    CHECK(sys::hex_encode(webhook::hmac_sha256(k_docs_secret, k_docs_payload)) == k_docs_signature);
    CHECK(github_accepts(k_docs_secret, "sha256=" + k_docs_signature, k_docs_payload));
}

TEST_CASE("webhook signature: octokit/webhooks-methods' own vector verifies",
          "[webhook][signature]") {
    // verify.test.ts: secret "mysecret", the payload {"foo":"bar"} as GitHub writes it (two
    // spaces of indentation and a final newline).
    const std::string payload = "{\n  \"foo\": \"bar\"\n}\n";
    CHECK(github_accepts("mysecret",
                         "sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697a9d07862256023f",
                         payload));
    CHECK_FALSE(github_accepts(
        "foo", "sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697a9d07862256023f", payload));
}

TEST_CASE("webhook signature: HMAC agrees with openssl dgst -hmac on keys and bodies of all kinds",
          "[webhook][signature]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"s", ""},
        {"a secret with spaces", "{\"ref\":\"refs/heads/main\"}"},
        {std::string(64, 'k'), std::string(1000, 'x')},
        // A key longer than SHA-256's block is hashed first: a separate path in HMAC.
        {std::string(200, 'K'), "body"},
        {"k\xc3\xa9y", std::string("bin\0ary\xff\n", 10)},
        {"secret", std::string(256 * 1024, 'z')},
    };
    for (const auto& [key, data] : cases) {
        INFO("key of " << key.size() << " bytes, body of " << data.size());
        const std::string expected = openssl_hmac_hex(key, data);
        REQUIRE(expected.size() == 64);
        CHECK(sys::hex_encode(webhook::hmac_sha256(key, data)) == expected);
        CHECK(github_accepts(key, "sha256=" + expected, data));
        CHECK(
            webhook::check_signature(Provider::Gitea, key, {{"X-Gitea-Signature", expected}}, data)
                .ok());
    }
}

TEST_CASE("webhook signature: GitHub's header is refused unless exactly sha256= and 64 hex digits",
          "[webhook][signature]") {
    const std::string good = "sha256=" + k_docs_signature;
    REQUIRE(github_accepts(k_docs_secret, good, k_docs_payload));
    // As octokit's isValidPrefixedSignature: hex digits of either case are taken.
    CHECK(github_accepts(k_docs_secret, "sha256=" + upper(k_docs_signature), k_docs_payload));

    for (const std::string& bad : std::vector<std::string>{
             std::string(""),
             k_docs_signature,                                  // no prefix
             "SHA256=" + k_docs_signature,                      // prefix in upper case
             "sha1=" + k_docs_signature,                        // another algorithm
             "sha258=" + k_docs_signature,                      // octokit's invalid algorithm
             "sha256=" + k_docs_signature.substr(1),            // 63 digits (odd)
             "sha256=" + k_docs_signature.substr(2),            // 62 digits
             "sha256=" + k_docs_signature + "a",                // 65
             "sha256=" + k_docs_signature + "00",               // 66
             "sha256=" + k_docs_signature.substr(0, 63) + "z",  // not hex
             "sha256= " + k_docs_signature,                     // a space
             "sha256=" + k_docs_signature + " ",
             "sha256=" + k_docs_signature + "\n",
             std::string("sha256="),
         }) {
        INFO(bad);
        const auto result = webhook::check_signature(
            Provider::GitHub, k_docs_secret, {{"X-Hub-Signature-256", bad}}, k_docs_payload);
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().kind == sys::Error::Kind::Unauthorized);
        CHECK(result.error().message.find("X-Hub-Signature-256") != std::string::npos);
    }
}

TEST_CASE("webhook signature: a signature of another body, key or a flipped bit does not match",
          "[webhook][signature]") {
    const std::string good = "sha256=" + k_docs_signature;
    CHECK_FALSE(github_accepts(k_docs_secret, good, "Hello, World?"));
    CHECK_FALSE(github_accepts(k_docs_secret, good, k_docs_payload + "\n"));
    CHECK_FALSE(github_accepts("It's a Secret to Everybody ", good, k_docs_payload));
    for (std::size_t i = 0; i < k_docs_signature.size(); i += 7) {
        std::string flipped = k_docs_signature;
        flipped[i] = flipped[i] == '0' ? '1' : '0';
        CHECK_FALSE(github_accepts(k_docs_secret, "sha256=" + flipped, k_docs_payload));
    }
    const auto result = webhook::check_signature(
        Provider::GitHub, k_docs_secret,
        {{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}}, k_docs_payload);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == sys::Error::Kind::Unauthorized);
    CHECK(result.error().message ==
          "X-Hub-Signature-256 does not match the body and the webhook secret");
}

TEST_CASE("webhook signature: a missing header, or no secret configured, is refused",
          "[webhook][signature]") {
    auto missing = webhook::check_signature(Provider::GitHub, k_docs_secret, {}, k_docs_payload);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == sys::Error::Kind::Unauthorized);
    CHECK(missing.error().message == "X-Hub-Signature-256 is missing");

    // GitHub's older SHA-1 header alone is not taken.
    const std::string sha1 = "sha1=" + std::string(40, 'a');
    CHECK_FALSE(webhook::check_signature(Provider::GitHub, k_docs_secret,
                                         {{"X-Hub-Signature", sha1}}, k_docs_payload)
                    .ok());

    // Without a secret nothing is taken, not even a signature made with an empty key.
    const std::string empty_key = sys::hex_encode(webhook::hmac_sha256("", k_docs_payload));
    auto no_secret = webhook::check_signature(
        Provider::GitHub, "", {{"X-Hub-Signature-256", "sha256=" + empty_key}}, k_docs_payload);
    REQUIRE_FALSE(no_secret.ok());
    CHECK(no_secret.error().kind == sys::Error::Kind::Unauthorized);
    CHECK_FALSE(
        webhook::check_signature(Provider::GitLab, "", {{"X-Gitlab-Token", ""}}, "{}").ok());
}

TEST_CASE("webhook signature: header names are case-insensitive", "[webhook][signature]") {
    CHECK(webhook::check_signature(Provider::GitHub, k_docs_secret,
                                   {{"x-hub-signature-256", "sha256=" + k_docs_signature}},
                                   k_docs_payload)
              .ok());
    CHECK(webhook::check_signature(Provider::Gitea, k_docs_secret,
                                   {{"X-GITEA-SIGNATURE", k_docs_signature}}, k_docs_payload)
              .ok());
}

TEST_CASE("webhook signature: Gitea and Forgejo send the bare hex HMAC", "[webhook][signature]") {
    const std::string body = "{\"ref\":\"refs/heads/main\"}";
    const std::string hex = openssl_hmac_hex("gitea secret", body);
    CHECK(webhook::check_signature(Provider::Gitea, "gitea secret", {{"X-Gitea-Signature", hex}},
                                   body)
              .ok());
    CHECK(webhook::check_signature(Provider::Gitea, "gitea secret", {{"X-Forgejo-Signature", hex}},
                                   body)
              .ok());
    CHECK(webhook::check_signature(Provider::Gitea, "gitea secret",
                                   {{"X-Gitea-Signature", upper(hex)}}, body)
              .ok());

    for (const std::string& bad : {"sha256=" + hex, hex.substr(1), hex + "0", std::string("")}) {
        INFO(bad);
        auto result = webhook::check_signature(Provider::Gitea, "gitea secret",
                                               {{"X-Gitea-Signature", bad}}, body);
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().message == "X-Gitea-Signature is not 64 hex digits");
    }
    auto wrong = webhook::check_signature(Provider::Gitea, "other secret",
                                          {{"X-Forgejo-Signature", hex}}, body);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().message ==
          "X-Forgejo-Signature does not match the body and the webhook secret");
    auto missing = webhook::check_signature(Provider::Gitea, "gitea secret",
                                            {{"X-Hub-Signature-256", "sha256=" + hex}}, body);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message == "X-Gitea-Signature is missing");
}

TEST_CASE("webhook signature: GitLab's token must be the secret, and errors never show it",
          "[webhook][signature]") {
    const std::string secret = "glpat-like-secret-0123";
    CHECK(webhook::check_signature(Provider::GitLab, secret, {{"X-Gitlab-Token", secret}}, "{}")
              .ok());
    for (const std::string& bad :
         {std::string("glpat-like-secret-0124"), secret + " ", secret.substr(1), std::string(""),
          std::string("GLPAT-LIKE-SECRET-0123")}) {
        auto result =
            webhook::check_signature(Provider::GitLab, secret, {{"X-Gitlab-Token", bad}}, "{}");
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().kind == sys::Error::Kind::Unauthorized);
        CHECK(result.error().message == "X-Gitlab-Token is not the webhook secret");
    }
    // An HMAC is not what GitLab sends: a valid one in GitHub's header proves nothing here.
    auto missing = webhook::check_signature(
        Provider::GitLab, secret,
        {{"X-Hub-Signature-256", "sha256=" + sys::hex_encode(webhook::hmac_sha256(secret, "{}"))}},
        "{}");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message == "X-Gitlab-Token is missing");
}

}  // namespace unit_webhook_signature_test
