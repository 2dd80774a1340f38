#include "agent/sources/git_remote.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace unit_sources_git_remote_test {

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

namespace {

/// RemoteAuth::load for `url` with a password file that does not exist: InvalidInput when
/// the host is refused before any file is read, Failed when the file was looked for.
agentd::sys::Error::Kind load_kind(const std::string& url) {
    auto parsed = parse_remote_url(url);
    REQUIRE(parsed.ok());
    agentd::config::GitCredentials creds;
    creds.password_file = "/nonexistent/agentd-test/token";
    auto auth = agentd::sources::RemoteAuth::load(*parsed, creds);
    REQUIRE_FALSE(auth.ok());
    return auth.error().kind;
}

}  // namespace

TEST_CASE("git credentials: plain http only to loopback addresses, never to look-alike names",
          "[sources][git]") {
    using Kind = agentd::sys::Error::Kind;
    for (const char* url :
         {"http://127.0.0.1/x.git", "http://127.0.0.1:8080/x.git", "http://127.9.9.9/x.git",
          "http://localhost:3000/x.git", "http://[::1]:5000/x.git", "http://[::1]/x.git"}) {
        INFO(url);
        CHECK(load_kind(url) == Kind::Failed);  // allowed: the (missing) file was read
    }
    for (const char* url :
         {"http://127.evil.example/x.git", "http://127.0.0.1.nip.io/x.git", "http://127.1/x.git",
          "http://0x7f.1/x.git", "http://0177.0.0.1/x.git", "http://2130706433/x.git",
          "http://[::ffff:127.0.0.1]/x.git", "http://localhost.evil/x.git",
          "http://evil.localhost/x.git", "http://user@127.evil.example:80/x.git",
          "http://git.example.com/x.git"}) {
        INFO(url);
        CHECK(load_kind(url) == Kind::InvalidInput);
    }
}

TEST_CASE("git credentials: relative files resolve in $CREDENTIALS_DIRECTORY", "[sources][git]") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("agentd-git-creds-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "git.token") << "tok-4711\n";
    std::ofstream(dir / "deploy_key") << "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    auto https = parse_remote_url("https://git.example.com/x.git");
    auto ssh = parse_remote_url("git@git.example.com:x.git");
    REQUIRE(https.ok());
    REQUIRE(ssh.ok());
    agentd::config::GitCredentials creds;
    creds.password_file = "git.token";
    creds.ssh_key_file = "deploy_key";

    ::setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
    auto https_auth = agentd::sources::RemoteAuth::load(*https, creds);
    auto ssh_auth = agentd::sources::RemoteAuth::load(*ssh, creds);
    CHECK(https_auth.ok());
    CHECK(ssh_auth.ok());
    // A missing file is named with its key and where it was looked for.
    creds.password_file = "other.token";
    creds.ssh_key_file = "other_key";
    auto missing_password = agentd::sources::RemoteAuth::load(*https, creds);
    auto missing_key = agentd::sources::RemoteAuth::load(*ssh, creds);
    ::unsetenv("CREDENTIALS_DIRECTORY");
    REQUIRE_FALSE(missing_password.ok());
    CHECK(missing_password.error().message ==
          "git.credentials.password_file " + (dir / "other.token").string() + ": no such file");
    REQUIRE_FALSE(missing_key.ok());
    CHECK(missing_key.error().message == "git.credentials.ssh_key_file " +
                                             (dir / "other_key").string() +
                                             ": No such file or directory");

    // Without $CREDENTIALS_DIRECTORY a relative name cannot be found: say so.
    creds.password_file = "git.token";
    auto unset = agentd::sources::RemoteAuth::load(*https, creds);
    REQUIRE_FALSE(unset.ok());
    CHECK_THAT(unset.error().message,
               Catch::StartsWith("git.credentials.password_file git.token: a relative name is "
                                 "looked up in $CREDENTIALS_DIRECTORY, which is not set"));
    CHECK(unset.error().message.find("tok-4711") == std::string::npos);
    std::filesystem::remove_all(dir);
}

}  // namespace unit_sources_git_remote_test
