#include "agent/daemon/verify_request.h"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "agent/sys/public_key.h"

namespace agentd::daemon {

namespace {

using nlohmann::json;

// Far more keys than anyone rotates through; a bound on what one request makes agentd read.
constexpr std::size_t k_max_keys = 32;
constexpr std::size_t k_max_path_length = 4096;
constexpr std::size_t k_max_identity_length = 1024;
constexpr std::array<std::string_view, 5> k_fields{"image", "key", "identity", "issuer",
                                                   "trusted_root"};

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A file agentd reads itself: `field` names it in errors, `what` says what it holds.
sys::Result<std::filesystem::path> file_path(const json& value, std::string_view field,
                                             std::string_view what) {
    if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return sys::Error::invalid(fmt::format("{}: expected the absolute path of {}", field, what));
    }
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > k_max_path_length || has_control_character(text)) {
        return sys::Error::invalid(
            fmt::format("{}: expected a file path, got a string that is none", field));
    }
    std::filesystem::path path(text);
    if (!path.is_absolute()) {
        return sys::Error::invalid(fmt::format(
            "{}: {} is a relative path; agentd reads the file itself: give an absolute path",
            field, text));
    }
    return path;
}

sys::Result<std::filesystem::path> key_path(const json& value) {
    return file_path(value, "key", "a PEM public key file");
}

sys::Result<std::vector<std::filesystem::path>> key_paths(const json& value) {
    std::vector<std::filesystem::path> out;
    if (!value.is_array()) {
        auto one = key_path(value);
        if (!one) {
            return one.error();
        }
        out.push_back(std::move(*one));
        return out;
    }
    if (value.empty()) {
        return sys::Error::invalid("key: expected at least one key file");
    }
    if (value.size() > k_max_keys) {
        return sys::Error::invalid(fmt::format("key: at most {} key files", k_max_keys));
    }
    for (const auto& item : value) {
        auto path = key_path(item);
        if (!path) {
            return path.error();
        }
        out.push_back(std::move(*path));
    }
    return out;
}

sys::Result<std::string> identity_field(const json& body, const char* name, const char* example) {
    const json& value = body.at(name);
    if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return sys::Error::invalid(
            fmt::format("{}: expected a non-empty string, e.g. {}", name, example));
    }
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > k_max_identity_length || has_control_character(text)) {
        return sys::Error::invalid(fmt::format("{}: expected at most {} printable characters", name,
                                               k_max_identity_length));
    }
    return text;
}

}  // namespace

sys::Result<VerifyRequest> parse_verify_request(const json& body) {
    if (!body.is_object()) {
        return sys::Error::invalid("request body: expected a JSON object");
    }
    for (const auto& [field, value] : body.items()) {
        if (std::find(k_fields.begin(), k_fields.end(), field) == k_fields.end()) {
            return sys::Error::invalid(
                fmt::format("unknown field \"{}\" (expected image, key, identity, issuer, "
                            "trusted_root)",
                            field));
        }
    }
    if (!body.contains("image") || !body["image"].is_string() ||
        body["image"].get_ref<const std::string&>().empty()) {
        return sys::Error::invalid("image: required, e.g. \"ghcr.io/acme/web:1.2.0\"");
    }
    VerifyRequest request;
    auto image = sources::ImageRef::parse(body["image"].get_ref<const std::string&>());
    if (!image) {
        return sys::Error::invalid("image: " + image.error().message);
    }
    request.image = std::move(*image);

    const bool key = body.contains("key");
    const bool identity = body.contains("identity");
    const bool issuer = body.contains("issuer");
    const bool trusted_root = body.contains("trusted_root");
    if (key && (identity || issuer || trusted_root)) {
        return sys::Error::invalid(
            "give either key (keyed signatures) or identity and issuer (keyless), not both");
    }
    if (key) {
        auto paths = key_paths(body["key"]);
        if (!paths) {
            return paths.error();
        }
        request.key_files = std::move(*paths);
        return request;
    }
    if (identity != issuer) {
        return sys::Error::invalid(identity ? "issuer: required with identity"
                                            : "identity: required with issuer");
    }
    if (!identity) {
        return sys::Error::invalid(
            "give the signatures to check: key (a public key file) or identity and issuer "
            "(keyless)");
    }
    auto who = identity_field(body, "identity", "\"https://github.com/acme/web/*\"");
    if (!who) {
        return who.error();
    }
    auto by = identity_field(body, "issuer", "\"https://token.actions.githubusercontent.com\"");
    if (!by) {
        return by.error();
    }
    request.keyless = KeylessIdentity{std::move(*who), std::move(*by), {}};
    if (trusted_root) {
        auto root = file_path(body["trusted_root"], "trusted_root", "a Sigstore trusted_root.json");
        if (!root) {
            return root.error();
        }
        request.keyless->trusted_root = std::move(*root);
    }
    return request;
}

sys::Result<config::ImageVerify> verify_policy(const VerifyRequest& request) {
    if (request.keyless) {
        auto keyless = config::CosignKeyless::make(request.keyless->identity,
                                                   request.keyless->issuer,
                                                   request.keyless->trusted_root);
        if (!keyless) {
            return keyless.error();
        }
        config::ImageVerify policy;
        policy.keyless = std::move(*keyless);
        return policy;
    }
    config::CosignKeys cosign;
    for (const auto& file : request.key_files) {
        auto key = sys::PublicKey::load(file);
        if (!key) {
            return sys::Error::invalid("key: " + key.error().message);
        }
        cosign.files.push_back(file);
        cosign.keys.push_back(std::move(*key));
    }
    config::ImageVerify policy;
    policy.cosign = std::move(cosign);
    return policy;
}

}  // namespace agentd::daemon
