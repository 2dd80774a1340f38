#include "agent/trust/git_signature.h"

#include <array>

namespace agentd::trust {
namespace {

// The first lines of the signature blocks git knows (gpg-interface.c's formats).
constexpr std::array<std::string_view, 4> k_signature_starts = {
    "-----BEGIN PGP SIGNATURE-----",
    "-----BEGIN PGP MESSAGE-----",
    "-----BEGIN SSH SIGNATURE-----",
    "-----BEGIN SIGNED MESSAGE-----",
};

bool starts_signature(std::string_view line) {
    for (const auto start : k_signature_starts) {
        if (line.substr(0, start.size()) == start) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string_view method_name(SignatureMethod method) {
    return method == SignatureMethod::Ssh ? "ssh" : "openpgp";
}

std::optional<SignedPayload> split_tag_signature(std::string_view raw_tag) {
    std::optional<std::size_t> start;
    std::size_t pos = 0;
    while (pos < raw_tag.size()) {
        const auto end = raw_tag.find('\n', pos);
        const auto line = raw_tag.substr(pos, end == std::string_view::npos ? end : end - pos);
        if (starts_signature(line)) {
            start = pos;
        }
        if (end == std::string_view::npos) {
            break;
        }
        pos = end + 1;
    }
    if (!start) {
        return std::nullopt;
    }
    return SignedPayload{std::string(raw_tag.substr(0, *start)),
                         std::string(raw_tag.substr(*start))};
}

std::optional<SignatureMethod> signature_method(std::string_view signature) {
    const auto first = signature.substr(0, signature.find('\n'));
    if (first == "-----BEGIN SSH SIGNATURE-----") {
        return SignatureMethod::Ssh;
    }
    if (first == "-----BEGIN PGP SIGNATURE-----" || first == "-----BEGIN PGP MESSAGE-----") {
        return SignatureMethod::OpenPgp;
    }
    return std::nullopt;
}

std::optional<std::string> object_header(std::string_view raw, std::string_view name) {
    std::size_t pos = 0;
    while (pos < raw.size()) {
        const auto end = raw.find('\n', pos);
        const auto line = raw.substr(pos, end == std::string_view::npos ? end : end - pos);
        if (line.empty()) {
            break;  // the headers end at the first empty line
        }
        if (line.size() > name.size() && line.substr(0, name.size()) == name &&
            line[name.size()] == ' ') {
            return std::string(line.substr(name.size() + 1));
        }
        if (end == std::string_view::npos) {
            break;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

}  // namespace agentd::trust
