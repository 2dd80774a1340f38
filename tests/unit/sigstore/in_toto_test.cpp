#include "agent/sigstore/in_toto.h"

#include <cctype>
#include <string>

#include <catch2/catch.hpp>

namespace unit_sigstore_in_toto_test {

using namespace agentd;

namespace {

const std::string k_hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string k_digest = "sha256:" + k_hex;

std::string statement(const std::string& type, const std::string& subjects) {
    return R"({"_type":")" + type + R"(","subject":)" + subjects +
           R"(,"predicateType":"https://slsa.dev/provenance/v1","predicate":{"x":1}})";
}

}  // namespace

TEST_CASE("dsse: the pre-authentication encoding is DSSE v1's", "[trust][sigstore]") {
    // The example of DSSE's protocol.md.
    CHECK(sigstore::dsse_pae("http://example.com/HelloWorld", "hello world") ==
          "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    // Lengths count bytes, and nothing in the payload is escaped or cut at a NUL or a space.
    const std::string payload("a b\0\xff", 4);
    CHECK(sigstore::dsse_pae("", payload) == std::string("DSSEv1 0  4 a b\0\xff", 16));
    CHECK(sigstore::dsse_pae("application/vnd.in-toto+json", "") ==
          "DSSEv1 28 application/vnd.in-toto+json 0 ");
}

TEST_CASE("in-toto: v1 and v0.1 statements yield their subjects", "[trust][sigstore]") {
    for (const std::string type :
         {"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"}) {
        INFO(type);
        const auto parsed = sigstore::parse_in_toto_statement(
            statement(type, R"([{"name":"ghcr.io/acme/web","digest":{"sha256":")" + k_hex +
                                R"(","sha512":"ab"}},{"digest":{"gitCommit":"0a1b"}}])"));
        REQUIRE(parsed.ok());
        CHECK(parsed->type == type);
        CHECK(parsed->predicate_type == "https://slsa.dev/provenance/v1");
        REQUIRE(parsed->subjects.size() == 2);
        CHECK(parsed->subjects[0].name == "ghcr.io/acme/web");
        CHECK(parsed->subjects[0].digest.at("sha256") == k_hex);
        CHECK(parsed->subjects[0].digest.at("sha512") == "ab");
        CHECK(parsed->subjects[1].name.empty());
        CHECK(parsed->subjects[1].digest.at("gitCommit") == "0a1b");
    }
}

TEST_CASE("in-toto: malformed statements are InvalidInput naming the field", "[trust][sigstore]") {
    const auto [payload, expected] = GENERATE(table<std::string, std::string>({
        {"", "is not JSON"},
        {"[]", "is not a JSON object"},
        {R"({"subject":[]})", "has _type (none), expected https://in-toto.io/Statement/v1"},
        {R"({"_type":1})", "has _type (not a string)"},
        {R"({"_type":"https://in-toto.io/Statement/v2"})",
         "has _type \"https://in-toto.io/Statement/v2\""},
        {R"({"_type":"https://in-toto.io/Statement/v1"})", "no \"subject\" array"},
        {R"({"_type":"https://in-toto.io/Statement/v1","subject":[]})", "at least one subject"},
        {R"({"_type":"https://in-toto.io/Statement/v1","subject":[1]})",
         "subject[0] is not an object"},
        {R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x"}]})",
         "subject[0] has no \"digest\" object"},
        {R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":2,"digest":{"sha256":"a"}}]})",
         "subject[0].name is not a string"},
        {R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"a"}},{"digest":{"sha256":7}}]})",
         "subject[1].digest.\"sha256\" is not a string"},
        {R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"a"}}],"predicateType":[]})",
         "predicateType is not a string"},
    }));
    INFO(payload);
    const auto parsed = sigstore::parse_in_toto_statement(payload);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == sys::Error::Kind::InvalidInput);
    CHECK_THAT(parsed.error().message,
               Catch::StartsWith("the in-toto statement ") && Catch::Contains(expected));
}

TEST_CASE("in-toto: one subject's sha256 must be the image digest", "[trust][sigstore]") {
    const auto parse = [](const std::string& subjects) {
        return *sigstore::parse_in_toto_statement(
            statement(std::string(sigstore::k_in_toto_statement_v1), subjects));
    };
    const std::string other = std::string(64, '1');
    // Any subject may name it; hex case does not matter.
    CHECK_FALSE(
        sigstore::check_subject_digest(parse(R"([{"digest":{"sha256":")" + other +
                                          R"("}},{"digest":{"sha256":")" + k_hex + R"("}}])"),
                                    k_digest));
    std::string upper = k_hex;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    CHECK_FALSE(sigstore::check_subject_digest(parse(R"([{"digest":{"sha256":")" + upper + R"("}}])"),
                                            k_digest));

    const auto wrong = sigstore::check_subject_digest(
        parse(R"([{"digest":{"sha256":")" + other + R"("}},{"digest":{"sha256":"ab"}}])"),
        k_digest);
    REQUIRE(wrong);
    CHECK(*wrong ==
          "is about \"sha256:" + other + "\" (and 1 other subjects), expected " + k_digest);

    // Another algorithm's digest of the same hex is not the image's.
    const auto sha512 = sigstore::check_subject_digest(
        parse(R"([{"digest":{"sha512":")" + k_hex + R"("}}])"), k_digest);
    REQUIRE(sha512);
    CHECK(*sha512 == "has no subject with a sha256 digest, expected " + k_digest);
    // A prefix of the digest is not the digest.
    CHECK(sigstore::check_subject_digest(
        parse(R"([{"digest":{"sha256":")" + k_hex.substr(0, 12) + R"("}}])"), k_digest));
    // Nothing matches an expected digest that is not sha256 (even an empty subject digest).
    CHECK(sigstore::check_subject_digest(parse(R"([{"digest":{"sha256":""}}])"), "md5:"));
}

}  // namespace unit_sigstore_in_toto_test
