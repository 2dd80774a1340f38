#pragma once
// Test helper: the keyless fixtures made by Sigstore's own JavaScript packages
// (tests/sigstore/make-cases.js with a mock Fulcio and Rekor, offline). scripts/test runs it
// and sets AGENTD_TEST_SIGSTORE_CASES to its directory: cases.json (each case's bundle file,
// policy and @sigstore/verify's verdict, and the bundle it attached to an image in the test
// registry), the bundles and their trusted_root.json.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

namespace agentd::testing {

/// The whole of `path`, which must be readable.
inline std::string read_fixture(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    INFO(path.string());
    REQUIRE(in.good());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// The cases' directory, or nullopt (with a warning that the test did not run) when scripts/test
/// did not make one.
inline std::optional<std::filesystem::path> sigstore_cases_dir() {
    const char* dir = std::getenv("AGENTD_TEST_SIGSTORE_CASES");
    if (dir == nullptr || *dir == '\0') {
        WARN(
            "SKIPPED: AGENTD_TEST_SIGSTORE_CASES is not set (scripts/test sets it to the "
            "output of tests/sigstore/make-cases.js --push); this test did not run");
        return std::nullopt;
    }
    return std::filesystem::path(dir);
}

}  // namespace agentd::testing
