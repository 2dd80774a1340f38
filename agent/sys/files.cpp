#include "agent/sys/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
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

Result<void> write_file_atomic(const std::filesystem::path& path, const std::string& content,
                               std::filesystem::perms mode) {
    const auto tmp = path.string() + ".tmp";
    const int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) {
        return Error::failed(fmt::format("{}: {}", tmp, std::strerror(errno)));
    }
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            ::close(fd);
            return Error::failed(fmt::format("{}: {}", tmp, std::strerror(err)));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        return Error::failed(fmt::format("{}: {}", tmp, std::strerror(errno)));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return Error::failed(fmt::format("{}: {}", path.string(), std::strerror(errno)));
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

Result<std::vector<std::pair<std::string, std::string>>> parse_env_file(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
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
