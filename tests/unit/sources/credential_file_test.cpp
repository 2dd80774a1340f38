#include "agent/sources/credential_file.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace unit_sources_credential_file_test {

using agentd::sources::read_credential_file;
using agentd::sources::resolve_credential_file;
namespace fs = std::filesystem;

namespace {

/// $CREDENTIALS_DIRECTORY set to a fresh directory for the test's duration.
struct CredentialsDirectory {
    fs::path path = fs::temp_directory_path() / ("agentd-creds-" + std::to_string(::getpid()));
    CredentialsDirectory() {
        fs::create_directories(path);
        ::setenv("CREDENTIALS_DIRECTORY", path.c_str(), 1);
    }
    ~CredentialsDirectory() {
        ::unsetenv("CREDENTIALS_DIRECTORY");
        fs::remove_all(path);
    }
};

}  // namespace

TEST_CASE("credential files: absolute paths as written, relative names in the directory",
          "[sources]") {
    CredentialsDirectory dir;
    CHECK(*resolve_credential_file("/etc/agentd/ghcr.token", "k") == "/etc/agentd/ghcr.token");
    CHECK(*resolve_credential_file("ghcr.token", "k") == dir.path / "ghcr.token");
    CHECK(*resolve_credential_file("sub/ghcr.token", "k") == dir.path / "sub" / "ghcr.token");
    const auto escape = resolve_credential_file("../etc/shadow", "password_file");
    REQUIRE_FALSE(escape.ok());
    CHECK(escape.error().message ==
          "password_file ../etc/shadow: a relative name must stay inside $CREDENTIALS_DIRECTORY");
}

TEST_CASE("credential files: trailing whitespace is trimmed, errors name key and path only",
          "[sources]") {
    CredentialsDirectory dir;
    std::ofstream(dir.path / "token") << "s3cret tok\r\n \t\n";
    CHECK(*read_credential_file("token", "password_file") == "s3cret tok");
    const auto missing = read_credential_file("absent", "git.credentials.password_file");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().is_not_found());
    CHECK(missing.error().message ==
          "git.credentials.password_file " + (dir.path / "absent").string() + ": no such file");
}

}  // namespace unit_sources_credential_file_test
