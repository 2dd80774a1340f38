#include "agent/sources/docker_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "agent/sources/registry_client.h"
#include "agent/sys/files.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_docker_config_test {

using namespace agentd;
using sources::DockerCredentials;
using sources::RegistryCredentials;

namespace fs = std::filesystem;

namespace {

/// A temporary directory removed afterwards.
using agentd::testing::TempDir;

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

/// "user password [token]", or "anonymous", or "error: message".
std::string describe(const sys::Result<std::optional<RegistryCredentials>>& found) {
    if (!found) {
        return "error: " + found.error().message;
    }
    if (!*found) {
        return "anonymous";
    }
    return (*found)->username + " " + (*found)->password +
           ((*found)->identity_token ? " token" : "");
}

/// A docker-credential-test helper that records what it was asked on stdin; the test's own
/// program, so running it through /bin/sh is fine (agentd never runs a shell itself).
void write_helper(const fs::path& dir, const std::string& name) {
    const fs::path program = dir / ("docker-credential-" + name);
    write(program, R"(#!/bin/sh
read -r url
echo "$url" >> "$(dirname "$0")/asked"
case "$url" in
  ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-s3cret"}' ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"x","Username":"<token>","Secret":"id-tok"}' ;;
  garbage.example.com) echo "not json" ;;
  broken.example.com) echo "keychain is locked" >&2; exit 1 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
)");
    fs::permissions(program, fs::perms::owner_all);
}

struct EnvGuard {
    std::string name;
    std::optional<std::string> old;
    EnvGuard(std::string n, const std::string& value) : name(std::move(n)) {
        if (const char* v = std::getenv(name.c_str())) {
            old = v;
        }
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~EnvGuard() {
        if (old) {
            ::setenv(name.c_str(), old->c_str(), 1);
        } else {
            ::unsetenv(name.c_str());
        }
    }
};

}  // namespace

TEST_CASE("docker config: auths in every key form, with auth or username/password",
          "[sources][registry]") {
    TempDir tmp;
    // "hub-user:hub-pass", "ghcr-user:ghcr:pass" (a password may hold ':'), "local:pw"
    write(tmp.path() / "config.json", R"({
      "auths": {
        "https://index.docker.io/v1/": {"auth": "aHViLXVzZXI6aHViLXBhc3M="},
        "ghcr.io": {"auth": "Z2hjci11c2VyOmdoY3I6cGFzcw=="},
        "https://registry.example.com": {"username": "ex-user", "password": "ex-pass"},
        "localhost:5000/v2/": {"auth": "bG9jYWw6cHc="},
        "http://127.0.0.1:5001/v2/": {"identitytoken": "refresh-me"},
        "empty.example.com": {}
      }
    })");
    sys::PosixProcessRunner runner;
    DockerCredentials docker(runner, tmp.path() / "config.json");
    CHECK(describe(docker.lookup("docker.io")) == "hub-user hub-pass");
    CHECK(describe(docker.lookup("ghcr.io")) == "ghcr-user ghcr:pass");
    CHECK(describe(docker.lookup("registry.example.com")) == "ex-user ex-pass");
    CHECK(describe(docker.lookup("localhost:5000")) == "local pw");
    CHECK(describe(docker.lookup("127.0.0.1:5001")) == "<token> refresh-me token");
    CHECK(describe(docker.lookup("empty.example.com")) == "anonymous");
    CHECK(describe(docker.lookup("quay.io")) == "anonymous");
    // The port is part of the host: localhost:5001 is another registry.
    CHECK(describe(docker.lookup("localhost:5001")) == "anonymous");
}

TEST_CASE("docker config: credHelpers and credsStore run the helper with the server URL",
          "[sources][registry]") {
    TempDir tmp;
    write_helper(tmp.path(), "test");
    write_helper(tmp.path(), "store");
    write(tmp.path() / "config.json", R"({
      "auths": {"registry.example.com": {"auth": "ZmlsZTpwdw=="}},
      "credHelpers": {"ghcr.io": "test", "broken.example.com": "test",
                      "garbage.example.com": "test", "missing.example.com": "absent"},
      "credsStore": "store"
    })");
    sys::PosixProcessRunner runner;
    DockerCredentials docker(runner, tmp.path() / "config.json", tmp.path());

    CHECK(describe(docker.lookup("ghcr.io")) == "helper-user helper-s3cret");
    // No credHelpers entry: the file's auths first, then the default store.
    CHECK(describe(docker.lookup("registry.example.com")) == "file pw");
    CHECK(describe(docker.lookup("docker.io")) == "<token> id-tok token");
    CHECK(describe(docker.lookup("quay.io")) == "anonymous");  // "credentials not found"
    CHECK(sys::read_file(tmp.path() / "asked").value() ==
          "ghcr.io\nhttps://index.docker.io/v1/\nquay.io\n");

    const auto broken = docker.lookup("broken.example.com");
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().kind == sys::Error::Kind::Failed);
    CHECK(broken.error().message ==
          "credential helper docker-credential-test for broken.example.com failed: keychain is "
          "locked");
    const auto garbage = docker.lookup("garbage.example.com");
    REQUIRE_FALSE(garbage.ok());
    CHECK_THAT(garbage.error().message, Catch::Contains("without Username and Secret"));
    const auto missing = docker.lookup("missing.example.com");
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error().message, Catch::Contains("docker-credential-absent"));
}

TEST_CASE("docker config: malformed files fail naming the file, never the secret",
          "[sources][registry]") {
    TempDir tmp;
    sys::PosixProcessRunner runner;
    const auto file = tmp.path() / "config.json";
    DockerCredentials docker(runner, file);

    write(file, "{\n  \"auths\": {\"ghcr.io\": {\"auth\": \"c2VjcmV0\"}\n");  // unclosed
    auto found = docker.lookup("ghcr.io");
    REQUIRE_FALSE(found.ok());
    CHECK_THAT(found.error().message, Catch::StartsWith("docker config " + file.string()));
    CHECK_THAT(found.error().message, Catch::Contains("malformed JSON near line"));
    CHECK_THAT(found.error().message, !Catch::Contains("c2VjcmV0"));

    write(file, R"({"auths": {"ghcr.io": {"auth": "bm8tY29sb24="}}})");  // "no-colon"
    found = docker.lookup("ghcr.io");
    REQUIRE_FALSE(found.ok());
    CHECK_THAT(found.error().message, Catch::Contains(file.string()));
    CHECK_THAT(found.error().message, Catch::Contains("not base64 of user:password"));

    write(file, R"({"credHelpers": {"ghcr.io": "../../bin/evil"}})");
    found = docker.lookup("ghcr.io");
    REQUIRE_FALSE(found.ok());
    CHECK_THAT(found.error().message, Catch::Contains("not a helper name"));

    write(file, R"({"auths": []})");
    CHECK_FALSE(docker.lookup("ghcr.io").ok());
}

TEST_CASE("docker config: a number out of range is a malformed file, not an exception",
          "[sources][registry]") {
    // Found with tests/fuzz/docker_config: nlohmann throws out_of_range (not parse_error) for
    // 1e400, and it left lookup().
    TempDir tmp;
    sys::PosixProcessRunner runner;
    const auto file = tmp.path() / "config.json";
    DockerCredentials docker(runner, file);
    write(file, R"({"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz", "x": 1e400}}})");
    const auto found = docker.lookup("ghcr.io");
    REQUIRE_FALSE(found.ok());
    CHECK_THAT(found.error().message, Catch::StartsWith("docker config " + file.string()));
    CHECK_THAT(found.error().message, Catch::Contains("out of range"));
}

TEST_CASE("docker config: a missing file is anonymous; DOCKER_CONFIG picks the directory",
          "[sources][registry]") {
    TempDir tmp;
    sys::PosixProcessRunner runner;
    CHECK(describe(DockerCredentials(runner, tmp.path() / "none.json").lookup("ghcr.io")) ==
          "anonymous");

    write(tmp.path() / "cfg" / "config.json", R"({"auths": {"ghcr.io": {"auth": "dTpw"}}})");
    EnvGuard docker_config("DOCKER_CONFIG", (tmp.path() / "cfg").string());
    DockerCredentials docker(runner);
    CHECK(docker.config_path() == tmp.path() / "cfg" / "config.json");
    CHECK(describe(docker.lookup("ghcr.io")) == "u p");
}

TEST_CASE("docker config: host normalisation", "[sources][registry]") {
    CHECK(sources::docker_config_host("https://index.docker.io/v1/") == "docker.io");
    CHECK(sources::docker_config_host("registry-1.docker.io") == "docker.io");
    CHECK(sources::docker_config_host("HTTPS://GHCR.io/v2/") == "ghcr.io");
    CHECK(sources::docker_config_host("http://127.0.0.1:5000") == "127.0.0.1:5000");
}

namespace {

class ChallengingHttp final : public sys::HttpClient {
public:
    std::vector<std::string> authorizations;
    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        std::string authorization;
        for (const auto& [key, value] : request.headers) {
            if (key == "Authorization") {
                authorization = value;
            }
        }
        authorizations.push_back(authorization);
        sys::HttpResponse response;
        if (authorization.empty()) {
            response.status = 401;
            response.headers.emplace_back("www-authenticate", R"(Basic realm="registry")");
        } else {
            response.status = 200;
            response.headers.emplace_back(
                "docker-content-digest",
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        }
        return response;
    }
};

}  // namespace

TEST_CASE("registry: hosts without a config entry use the Docker config's credentials",
          "[sources][registry]") {
    TempDir tmp;
    // "docker-user:docker-pass"
    write(tmp.path() / "config.json",
          R"({"auths": {"ghcr.io": {"auth": "ZG9ja2VyLXVzZXI6ZG9ja2VyLXBhc3M="},
                        "quay.io": {"auth": "ZG9ja2VyLXVzZXI6ZG9ja2VyLXBhc3M="}}})");
    write(tmp.path() / "password", "agent-pass\n");
    sys::PosixProcessRunner runner;
    DockerCredentials docker(runner, tmp.path() / "config.json");
    ChallengingHttp http;
    config::Registry quay;
    quay.host = "quay.io";
    quay.username = "agent-user";
    quay.password_file = tmp.path() / "password";
    sources::RegistryClient client(http, {quay});

    // Without the fallback: anonymous, so the Basic challenge cannot be answered.
    CHECK_FALSE(client.resolve_digest(*sources::ImageRef::parse("ghcr.io/acme/web:1")).ok());

    client.set_docker_credentials(&docker);
    http.authorizations.clear();
    REQUIRE(client.resolve_digest(*sources::ImageRef::parse("ghcr.io/acme/web:1")).ok());
    CHECK(http.authorizations.back() == sources::basic_authorization("docker-user", "docker-pass"));
    // The agent's own entry wins over the Docker config.
    REQUIRE(client.resolve_digest(*sources::ImageRef::parse("quay.io/acme/web:1")).ok());
    CHECK(http.authorizations.back() == sources::basic_authorization("agent-user", "agent-pass"));
}

TEST_CASE("registry: an entry without a username takes the Docker config's credentials",
          "[sources][registry]") {
    // An entry that only says how to reach the registry (ca_file, insecure_http) does not
    // make it anonymous: `docker login` credentials still apply, as they do for Docker.
    TempDir tmp;
    // "docker-user:docker-pass"
    write(tmp.path() / "config.json",
          R"({"auths": {"registry.lan:5000": {"auth": "ZG9ja2VyLXVzZXI6ZG9ja2VyLXBhc3M="}}})");
    write(tmp.path() / "ca.pem", "not used by the fake\n");
    sys::PosixProcessRunner runner;
    DockerCredentials docker(runner, tmp.path() / "config.json");
    ChallengingHttp http;
    config::Registry lan;
    lan.host = "registry.lan:5000";
    lan.ca_file = tmp.path() / "ca.pem";
    sources::RegistryClient client(http, {lan});
    client.set_docker_credentials(&docker);

    const auto ref = *sources::ImageRef::parse("registry.lan:5000/acme/web:1");
    const auto creds = client.credentials(ref);
    REQUIRE(describe(creds) == "docker-user docker-pass");
    REQUIRE(client.resolve_digest(ref).ok());
    CHECK(http.authorizations.back() == sources::basic_authorization("docker-user", "docker-pass"));
}

TEST_CASE("docker config: a failing helper's stdout never reaches the error",
          "[sources][registry]") {
    // A helper that wrote its answer (the secret) and then failed, one that says nothing on
    // stderr, and one whose stderr echoes a token among its complaints.
    TempDir tmp;
    const fs::path program = tmp.path() / "docker-credential-leaky";
    write(program, R"(#!/bin/sh
read -r url
case "$url" in
  half.example.com)
    printf '{"ServerURL":"x","Username":"u","Secret":"stdout-s3cret-4711"}'
    echo "warning: slow keychain" >&2
    echo "error: keychain closed while answering" >&2
    exit 3 ;;
  silent.example.com) printf '{"Username":"u","Secret":"stdout-s3cret-4711"}'; exit 1 ;;
  echo.example.com)
    echo "refresh failed for token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB: expired" >&2
    exit 1 ;;
esac
)");
    fs::permissions(program, fs::perms::owner_all);
    write(tmp.path() / "config.json", R"({"credsStore": "leaky"})");
    sys::PosixProcessRunner runner;
    DockerCredentials docker(runner, tmp.path() / "config.json", tmp.path());

    const auto half = docker.lookup("half.example.com");
    REQUIRE_FALSE(half.ok());
    CHECK(half.error().message ==
          "credential helper docker-credential-leaky for half.example.com failed: error: "
          "keychain closed while answering");
    const auto silent = docker.lookup("silent.example.com");
    REQUIRE_FALSE(silent.ok());
    CHECK(silent.error().message ==
          "credential helper docker-credential-leaky for silent.example.com failed: exit 1");
    const auto echo = docker.lookup("echo.example.com");
    REQUIRE_FALSE(echo.ok());
    CHECK(echo.error().message ==
          "credential helper docker-credential-leaky for echo.example.com failed: refresh failed "
          "for token ***: expired");
}

TEST_CASE("docker config: a helper's complaint is one printable, capped line without tokens",
          "[sources][registry]") {
    using sources::helper_complaint;
    CHECK(helper_complaint("") == "");
    CHECK(helper_complaint(" \n\n") == "");
    CHECK(helper_complaint("first\nsecond line\n\n") == "second line");
    CHECK(helper_complaint("bad\x1b[2Jterminal\r\n") == "bad?[2Jterminal");
    CHECK(helper_complaint(std::string(1000, 'x')) == std::string(160, 'x') + "...");
    // Token-like words go; words, paths and short numbers stay.
    CHECK(helper_complaint("token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0 "
                           "rejected") == "token ***.*** rejected");
    CHECK(helper_complaint("AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") ==
          "***");
    CHECK(helper_complaint("exec: docker-credential-desktop-helper: not found in /usr/local/bin") ==
          "exec: docker-credential-desktop-helper: not found in /usr/local/bin");
    CHECK(helper_complaint("error 404 from 127.0.0.1:5000") == "error 404 from 127.0.0.1:5000");
}

}  // namespace unit_sources_docker_config_test
