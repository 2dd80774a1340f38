#include "agent/sources/git_remote.h"

#include <catch2/catch.hpp>

using agentd::sources::GitTransport;
using agentd::sources::parse_remote_url;
using agentd::sources::redact_url;
using agentd::sources::valid_branch;

TEST_CASE("git url: schemes, scp-like syntax and local paths are told apart", "[sources][git]") {
    auto https = parse_remote_url("https://github.com/acme/deploy.git");
    REQUIRE(https.ok());
    CHECK(https->transport == GitTransport::Https);
    CHECK(https->host == "github.com");

    auto scp = parse_remote_url("git@github.com:acme/deploy.git");
    REQUIRE(scp.ok());
    CHECK(scp->transport == GitTransport::Ssh);
    CHECK(scp->user == "git");
    CHECK(scp->host == "github.com");
    CHECK(scp->port == 0);

    auto ssh = parse_remote_url("ssh://deploy@[::1]:2222/srv/repo.git");
    REQUIRE(ssh.ok());
    CHECK(ssh->transport == GitTransport::Ssh);
    CHECK(ssh->user == "deploy");
    CHECK(ssh->host == "::1");
    CHECK(ssh->port == 2222);

    CHECK(parse_remote_url("file:///srv/repo.git")->transport == GitTransport::Local);
    CHECK(parse_remote_url("/srv/repo.git")->transport == GitTransport::Local);
    CHECK(parse_remote_url("./a:b")->transport == GitTransport::Local);
    CHECK(parse_remote_url("git://127.0.0.1/x.git")->transport == GitTransport::Git);
}

TEST_CASE("git url: bad URLs are InvalidInput", "[sources][git]") {
    for (const std::string url :
         {"", "ftp://host/x", "https://host:99999/x", "ssh://[::1/x", "https:///x", "/tmp/a\tb"}) {
        auto parsed = parse_remote_url(url);
        CHECK_FALSE(parsed.ok());
    }
}

TEST_CASE("git url: a password in the URL is redacted", "[sources][git]") {
    CHECK(redact_url("https://bob:s3cret@example.com/x.git") ==
          "https://bob:***@example.com/x.git");
    CHECK(redact_url("https://bob@example.com/x.git") == "https://bob@example.com/x.git");
    CHECK(redact_url("git@github.com:acme/x.git") == "git@github.com:acme/x.git");
    auto parsed = parse_remote_url("ftp://bob:s3cret@example.com/x");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message.find("s3cret") == std::string::npos);
}

TEST_CASE("git branch: names git accepts", "[sources][git]") {
    CHECK(valid_branch("main"));
    CHECK(valid_branch("release/2.x"));
    CHECK_FALSE(valid_branch(""));
    CHECK_FALSE(valid_branch("-rf"));
    CHECK_FALSE(valid_branch("a..b"));
    CHECK_FALSE(valid_branch("a:b"));
}
