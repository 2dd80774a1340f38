#include "agent/sys/files.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace agentd::sys {

Result<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) {
            return Error::not_found(fmt::format("{}: no such file", path.string()));
        }
        return Error::failed(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

/// A name no other writer (a second agentd, a concurrent worker) and no attacker can have
/// predicted: ".<name>.<16 random hex digits>.tmp" next to the target.
std::filesystem::path temporary_name(const std::filesystem::path& path) {
    std::uint64_t random = 0;
    if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
        // getrandom cannot fail for 8 bytes once the pool is initialised; mix in what varies.
        random =
            static_cast<std::uint64_t>(::getpid()) << 32 ^
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    return path.parent_path() / fmt::format(".{}.{:016x}.tmp", path.filename().string(), random);
}

Result<void> write_all(int fd, const std::string& content, const std::string& name) {
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Error::failed(fmt::format("{}: {}", name, std::strerror(errno)));
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace

Result<void> write_file_atomic(const std::filesystem::path& path, const std::string& content,
                               std::filesystem::perms mode) {
    // O_EXCL|O_NOFOLLOW: the temporary file is always a new one made here, never a file or a
    // symlink planted at a name someone guessed; its name is random, so guessing is useless too.
    std::filesystem::path tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        tmp = temporary_name(path);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    static_cast<mode_t>(mode));
        if (fd < 0 && errno != EEXIST) {
            break;
        }
    }
    if (fd < 0) {
        return Error::failed(fmt::format("{}: {}", tmp.string(), std::strerror(errno)));
    }
    // The mode asked for, whatever the umask took away.
    Result<void> written;
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
        written = Error::failed(fmt::format("{}: chmod: {}", tmp.string(), std::strerror(errno)));
    } else {
        written = write_all(fd, content, tmp.string());
    }
    // fsync before rename: after a crash the new name holds the whole new content or the old
    // file, never an empty one.
    if (written && ::fsync(fd) != 0) {
        written = Error::failed(fmt::format("{}: fsync: {}", tmp.string(), std::strerror(errno)));
    }
    if (::close(fd) != 0 && written) {
        written = Error::failed(fmt::format("{}: {}", tmp.string(), std::strerror(errno)));
    }
    // rename(2) replaces a symlink at `path` itself; it never writes through it.
    if (written && ::rename(tmp.c_str(), path.c_str()) != 0) {
        written = Error::failed(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    }
    if (!written) {
        ::unlink(tmp.c_str());
        return written;
    }
    // The rename is durable once the directory is: fsync it.
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        return Error::failed(fmt::format("{}: {}", dir.string(), std::strerror(errno)));
    }
    const bool synced = ::fsync(dir_fd) == 0;
    const int sync_error = errno;
    ::close(dir_fd);
    if (!synced) {
        return Error::failed(fmt::format("{}: fsync: {}", dir.string(), std::strerror(sync_error)));
    }
    return {};
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += fmt::format("{:02x}", digest[i]);
    }
    return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_env_file(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    int number = 0;
    // Line by line over the caller's buffer, not a stream's copy of it: the text may be a
    // decrypted secret, which only the caller's SecretBytes wipes.
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string line(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        line = line.substr(first);
        if (line.rfind("export ", 0) == 0) {
            line = line.substr(7);
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) {
            return Error::invalid(fmt::format("line {}: expected KEY=VALUE", number));
        }
        std::string key = line.substr(0, eq);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) {
            key.pop_back();
        }
        for (char c : key) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                  c == '-')) {
                return Error::invalid(fmt::format("line {}: invalid variable name", number));
            }
        }
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        out.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

}  // namespace agentd::sys
