#include "agent/sources/credential_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "agent/sys/files.h"

namespace agentd::sources {

sys::Result<std::filesystem::path> resolve_credential_file(const std::filesystem::path& file,
                                                           std::string_view key) {
    if (file.is_absolute()) {
        return file;
    }
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (dir == nullptr || *dir == '\0') {
        return sys::Error::failed(fmt::format(
            "{} {}: a relative name is looked up in $CREDENTIALS_DIRECTORY, which is not set "
            "(give an absolute path, or LoadCredential= in the service unit)",
            key, file.string()));
    }
    for (const auto& part : file) {
        if (part == "..") {
            return sys::Error::failed(
                fmt::format("{} {}: a relative name must stay inside $CREDENTIALS_DIRECTORY", key,
                            file.string()));
        }
    }
    return std::filesystem::path(dir) / file;
}

sys::Result<std::string> read_credential_file(const std::filesystem::path& file,
                                              std::string_view key) {
    auto path = resolve_credential_file(file, key);
    if (!path) {
        return path.error();
    }
    auto text = sys::read_file(*path);
    if (!text) {
        // read_file's message names the path and the cause, never the content.
        const auto message = fmt::format("{} {}", key, text.error().message);
        return text.error().is_not_found() ? sys::Error::not_found(message)
                                           : sys::Error::failed(message);
    }
    auto& secret = *text;
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                               secret.back() == ' ' || secret.back() == '\t')) {
        secret.pop_back();
    }
    return std::move(secret);
}

sys::Result<std::filesystem::path> check_credential_file(const std::filesystem::path& file,
                                                         std::string_view key) {
    auto path = resolve_credential_file(file, key);
    if (!path) {
        return path.error();
    }
    const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        const auto message = fmt::format("{} {}: {}", key, path->string(), std::strerror(err));
        return err == ENOENT ? sys::Error::not_found(message) : sys::Error::failed(message);
    }
    ::close(fd);
    return path;
}

}  // namespace agentd::sources
