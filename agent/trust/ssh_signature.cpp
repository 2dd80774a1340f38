#include "agent/trust/ssh_signature.h"

#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "agent/sys/files.h"
#include "agent/trust/private_temp_dir.h"

namespace agentd::trust {
namespace {

namespace fs = std::filesystem;

constexpr auto k_timeout = std::chrono::seconds(30);

/// The first line of ssh-keygen's message, for the reason shown to users.
std::string first_line(const std::string& text) {
    auto line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
        line.pop_back();
    }
    return line;
}

/// Runs ssh-keygen; a run that says nothing about the signature (not started, killed, timed
/// out) is Failed.
sys::Result<sys::ProcessResult> run_ssh_keygen(sys::ProcessRunner& runner,
                                               std::vector<std::string> argv,
                                               std::optional<std::string> stdin_data,
                                               std::string_view subject) {
    sys::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.stdin_data = std::move(stdin_data);
    spec.timeout = k_timeout;
    auto result = runner.run(spec);
    if (!result) {
        return sys::Error::failed(
            fmt::format("{}: cannot run ssh-keygen to check its signature: {}", subject,
                        result.error().message));
    }
    if (result->timed_out || result->exit_code < 0) {
        return sys::Error::failed(fmt::format("{}: ssh-keygen {} while checking its signature",
                                              subject,
                                              result->timed_out ? "timed out" : "was killed"));
    }
    return result;
}

}  // namespace

sys::Result<GitSignature> verify_ssh_signature(sys::ProcessRunner& runner,
                                               const fs::path& allowed_signers,
                                               const SignedPayload& signed_payload,
                                               std::string_view subject) {
    if (std::ifstream probe(allowed_signers); !probe) {
        return sys::Error::failed(fmt::format("{}: allowed_signers {} cannot be read", subject,
                                              allowed_signers.string()));
    }
    auto dir = PrivateTempDir::create("agentd-ssh");
    if (!dir) {
        return dir.error();
    }
    const auto signature_file = dir->path() / "signature";
    if (auto w = sys::write_file_atomic(signature_file, signed_payload.signature); !w) {
        return w.error();
    }

    // Who owns the signing key? ssh-keygen does not check the signature here, only the key.
    auto found = run_ssh_keygen(runner,
                                {"ssh-keygen", "-Y", "find-principals", "-f",
                                 allowed_signers.string(), "-s", signature_file.string()},
                                std::nullopt, subject);
    if (!found) {
        return found.error();
    }
    if (!found->success()) {
        return sys::Error::invalid(fmt::format("{}: signed by a key not in allowed_signers {} ({})",
                                               subject, allowed_signers.string(),
                                               first_line(found->err)));
    }
    std::vector<std::string> principals;
    for (std::size_t pos = 0; pos < found->out.size();) {
        const auto end = found->out.find('\n', pos);
        auto line = first_line(found->out.substr(pos, end == std::string::npos ? end : end - pos));
        if (!line.empty()) {
            principals.push_back(std::move(line));
        }
        pos = end == std::string::npos ? found->out.size() : end + 1;
    }
    if (principals.empty()) {
        return sys::Error::invalid(fmt::format("{}: signed by a key not in allowed_signers {}",
                                               subject, allowed_signers.string()));
    }

    // Does the signature verify, for that principal, in git's namespace?
    std::string last_error;
    for (const auto& principal : principals) {
        auto checked = run_ssh_keygen(runner,
                                      {"ssh-keygen", "-Y", "verify", "-f", allowed_signers.string(),
                                       "-I", principal, "-n", "git", "-s", signature_file.string()},
                                      signed_payload.payload, subject);
        if (!checked) {
            return checked.error();
        }
        if (checked->success()) {
            // "Good "git" signature for <principal> with ED25519 key SHA256:..."
            const auto& out = checked->out;
            std::string key;
            if (const auto with = out.find(" with "); with != std::string::npos) {
                key = first_line(out.substr(with + 6));
                if (key.size() > 4 && key.find(" key ") != std::string::npos) {
                    key.replace(key.find(" key "), 5, " ");
                }
            }
            return GitSignature{SignatureMethod::Ssh, principal, key};
        }
        last_error = first_line(checked->err);
    }
    return sys::Error::invalid(
        fmt::format("{}: bad SSH signature by {} ({})", subject, principals.front(), last_error));
}

}  // namespace agentd::trust
