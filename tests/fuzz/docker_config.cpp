// The Docker client's config.json (agent/sources/docker_config): written by `docker login`, by
// hand or by other tools, and a credential helper's answer on stdout.
// Input: parts cut at "\n--\n": config.json, the helper's stdout, its exit status ("0" is
// success). The file is written to a temporary path and looked up for three hosts.
// Invariants: found credentials have a username without ':' or control characters (it goes
// into Basic auth); a failure says why.

#include <unistd.h>

#include <fstream>

#include "agent/sources/docker_config.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

class AnsweringHelper final : public sys::ProcessRunner {
public:
    sys::Result<sys::ProcessResult> run(const sys::ProcessSpec&) override {
        sys::ProcessResult result;
        result.exit_code = exit_code;
        result.out = out;
        return result;
    }
    std::string out;
    int exit_code = 0;
};

const std::filesystem::path& config_file() {
    static const std::filesystem::path path =
        std::filesystem::temp_directory_path() /
        ("agentd-fuzz-docker-config-" + std::to_string(::getpid()) + ".json");
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));
    {
        std::ofstream file(config_file(), std::ios::binary | std::ios::trunc);
        file << parts[0];
    }
    AnsweringHelper helper;
    helper.out = parts.size() > 1 ? parts[1] : "";
    helper.exit_code = parts.size() > 2 && parts[2] != "0" ? 1 : 0;
    const sources::DockerCredentials credentials(helper, config_file(), "/nonexistent");
    for (const char* host : {"docker.io", "127.0.0.1:5000", "ghcr.io"}) {
        (void)sources::docker_config_host(host);
        const auto found = credentials.lookup(host);
        if (!found) {
            FUZZ_CHECK(!found.error().message.empty());
            continue;
        }
        if (*found) {
            const auto& username = (*found)->username;
            FUZZ_CHECK(!username.empty() && username.find(':') == std::string::npos);
            for (const char c : username) {
                FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
            }
        }
    }
    return 0;
}
