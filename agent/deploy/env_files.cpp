#include "agent/deploy/env_files.h"

#include <optional>

#include <openssl/crypto.h>

#include <fmt/format.h>

#include "agent/sources/credential_file.h"
#include "agent/sys/age.h"
#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

// An env file is a few KiB; anything this large is refused before it is read.
constexpr std::uintmax_t k_max_env_file_size = 1024 * 1024;

struct EnvFile {
    std::filesystem::path entry;  ///< as written in agent.yaml
    std::filesystem::path path;   ///< where it is read
    bool on_host = false;         ///< not from the release's repository
    bool encrypted = false;       ///< "*.age"
    std::string name() const { return entry.string(); }
};

EnvFile locate(const config::Stack& stack, const std::filesystem::path& dir,
               const std::filesystem::path& entry) {
    EnvFile file;
    file.entry = entry;
    file.encrypted = entry.string().ends_with(".age");
    file.on_host = entry.is_absolute() || !stack.git;
    file.path = entry.is_absolute() ? entry : dir / entry;
    return file;
}

/// Failed for a host file (fixed on the host, retried), InvalidInput for a repository file (a
/// verdict on the release).
sys::Error problem(const EnvFile& file, const std::string& what) {
    const auto message = fmt::format("env file {}: {}", file.name(), what);
    return file.on_host ? sys::Error::failed(message) : sys::Error::invalid(message);
}

/// The stored bytes of `file`: a relative entry is read below `dir` without following a
/// symlink on the way (a repository must not point agentd at a host file).
sys::Result<std::string> read_stored(const EnvFile& file, const std::filesystem::path& dir) {
    std::error_code ec;
    if (!file.entry.is_absolute()) {
        auto at = dir;
        for (const auto& part : file.entry) {
            at /= part;
            const auto status = std::filesystem::symlink_status(at, ec);
            if (ec || status.type() == std::filesystem::file_type::not_found) {
                return problem(file, file.on_host ? "not found" : "not in the release");
            }
            if (status.type() == std::filesystem::file_type::symlink) {
                return problem(file, fmt::format("{} is a symlink, which env files may not "
                                                 "follow",
                                                 at.lexically_relative(dir).string()));
            }
        }
    }
    const auto status = std::filesystem::status(file.path, ec);
    if (!ec && status.type() != std::filesystem::file_type::regular) {
        return problem(file, "not a regular file");
    }
    const auto size = std::filesystem::file_size(file.path, ec);
    if (!ec && size > k_max_env_file_size) {
        return problem(file, fmt::format("larger than {} bytes", k_max_env_file_size));
    }
    auto text = sys::read_file(file.path);
    if (!text) {
        return problem(file, text.error().message);
    }
    return text;
}

/// The identities of age_identity_file. Failed (retried: fixed on the host) when it is not set,
/// cannot be read or holds no valid identity; the message names the file, never its content.
sys::Result<std::vector<sys::AgeIdentity>> load_identities(const config::Stack& stack) {
    if (stack.age_identity_file.empty()) {
        return sys::Error::failed("age_identity_file is not set");  // config/ refuses this
    }
    auto text = sources::read_credential_file(stack.age_identity_file, "age_identity_file");
    if (!text) {
        return sys::Error::failed(text.error().message);
    }
    auto identities = sys::parse_age_identities(*text);
    OPENSSL_cleanse(text->data(), text->size());
    if (!identities) {
        return sys::Error::failed(fmt::format("age_identity_file {}: {}",
                                              stack.age_identity_file.string(),
                                              identities.error().message));
    }
    return identities;
}

}  // namespace

sys::Result<std::map<std::string, std::string>> read_env_files(const config::Stack& stack,
                                                               const std::filesystem::path& dir) {
    std::map<std::string, std::string> values;
    std::optional<std::vector<sys::AgeIdentity>> identities;
    for (const auto& entry : stack.all_env_files()) {
        const EnvFile file = locate(stack, dir, entry);
        auto stored = read_stored(file, dir);
        if (!stored) {
            return stored.error();
        }
        sys::SecretBytes plaintext(std::move(*stored));
        if (file.encrypted) {
            if (!identities) {
                auto loaded = load_identities(stack);
                if (!loaded) {
                    return loaded.error();
                }
                identities = std::move(*loaded);
            }
            auto decrypted = sys::age_decrypt_any(plaintext.view(), *identities);
            if (!decrypted) {
                return problem(file, fmt::format("cannot be decrypted with age_identity_file: {}",
                                                 decrypted.error().message));
            }
            plaintext = std::move(*decrypted);
        }
        auto parsed = sys::parse_env_file(plaintext.view());
        if (!parsed) {
            return problem(file, parsed.error().message);
        }
        for (auto& [name, value] : *parsed) {
            values[name] = std::move(value);
        }
    }
    return values;
}

std::string env_files_fingerprint(const config::Stack& stack, const std::filesystem::path& dir) {
    std::string out;
    for (const auto& entry : stack.all_env_files()) {
        const EnvFile file = locate(stack, dir, entry);
        out += "env " + file.name() + "\n";
        if (file.on_host) {
            auto stored = sys::read_file(file.path);
            out += (stored ? sys::sha256_hex(*stored) : std::string("unreadable")) + "\n";
        }
    }
    return out;
}

}  // namespace agentd::deploy
