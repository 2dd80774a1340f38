#include "agent/sigstore/trusted_root.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "agent/sys/digest.h"
#include "agent/sys/files.h"
#include "agent/sys/public_key.h"
#include "agent/sys/quote.h"
#include "agent/sigstore/json_fields.h"

namespace agentd::sigstore {

namespace {

namespace jf = json_fields;

constexpr std::size_t k_max_entries = 64;
constexpr std::size_t k_max_chain = 10;
constexpr std::size_t k_max_certificate_size = 16 * 1024;

sys::Error in_root(const sys::Error& error) {
    return sys::Error::invalid("trusted root: " + error.message);
}

std::string indexed(std::string_view key, std::size_t i) {
    return fmt::format("{}[{}]", key, i);
}

/// True when `der` is exactly one X.509 certificate OpenSSL can parse.
bool parses_as_certificate(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    const bool whole =
        cert != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
    X509_free(cert);
    ERR_clear_error();
    return whole;
}

sys::Result<ValidityPeriod> validity(const nlohmann::json& parent, const std::string& path,
                                     bool start_required) {
    ValidityPeriod out;
    const auto* valid_for = jf::find(parent, "validFor");
    const auto where = jf::path_of(path, "validFor");
    if (valid_for == nullptr) {
        if (start_required) {
            return sys::Error::invalid(fmt::format("{} is missing", where));
        }
        return out;
    }
    if (!valid_for->is_object()) {
        return sys::Error::invalid(fmt::format("{} is not an object", where));
    }
    if (jf::find(*valid_for, "start") != nullptr || start_required) {
        auto start = jf::time(*valid_for, where, "start");
        if (!start) {
            return start.error();
        }
        out.start = *start;
    }
    if (jf::find(*valid_for, "end") != nullptr) {
        auto end = jf::time(*valid_for, where, "end");
        if (!end) {
            return end.error();
        }
        out.end = *end;
    }
    if (out.start && out.end && *out.end < *out.start) {
        return sys::Error::invalid(fmt::format("{} ends before it starts", where));
    }
    return out;
}

std::string subject_text(const nlohmann::json& authority) {
    const auto* subject = jf::find(authority, "subject");
    if (subject == nullptr || !subject->is_object()) {
        return {};
    }
    std::string out;
    for (const auto& [key, label] :
         {std::pair{"organization", "O"}, std::pair{"commonName", "CN"}}) {
        const auto* value = jf::find(*subject, key);
        if (value != nullptr && value->is_string()) {
            out += fmt::format("{}{}={}", out.empty() ? "" : ", ", label,
                               value->get_ref<const std::string&>());
        }
    }
    return out;
}

sys::Result<std::vector<CertificateAuthority>> authorities(const nlohmann::json& root,
                                                           std::string_view key) {
    auto list = jf::array(root, "", key, k_max_entries, true);
    if (!list) {
        return list.error();
    }
    std::vector<CertificateAuthority> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const auto& item = (**list)[i];
        const auto path = indexed(key, i);
        if (!item.is_object()) {
            return sys::Error::invalid(fmt::format("{} is not an object", path));
        }
        CertificateAuthority authority;
        authority.subject = subject_text(item);
        if (const auto* uri = jf::find(item, "uri"); uri != nullptr && uri->is_string()) {
            authority.uri = uri->get<std::string>();
        }
        auto chain = jf::object(item, path, "certChain");
        if (!chain) {
            return chain.error();
        }
        const auto chain_path = jf::path_of(path, "certChain");
        auto certificates = jf::array(**chain, chain_path, "certificates", k_max_chain);
        if (!certificates) {
            return certificates.error();
        }
        if ((*certificates)->empty()) {
            return sys::Error::invalid(fmt::format("{}.certificates is empty", chain_path));
        }
        for (std::size_t c = 0; c < (*certificates)->size(); ++c) {
            const auto cert_path = jf::path_of(chain_path, indexed("certificates", c));
            auto der = jf::base64((**certificates)[c], cert_path, "rawBytes");
            if (!der) {
                return der.error();
            }
            if (der->size() > k_max_certificate_size || !parses_as_certificate(*der)) {
                return sys::Error::invalid(
                    fmt::format("{}.rawBytes is not a DER X.509 certificate", cert_path));
            }
            authority.certificates.push_back(std::move(*der));
        }
        auto period = validity(item, path, false);
        if (!period) {
            return period.error();
        }
        authority.valid_for = *period;
        out.push_back(std::move(authority));
    }
    return out;
}

sys::Result<std::vector<TransparencyLog>> logs(const nlohmann::json& root, std::string_view key) {
    auto list = jf::array(root, "", key, k_max_entries, true);
    if (!list) {
        return list.error();
    }
    std::vector<TransparencyLog> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const auto& item = (**list)[i];
        const auto path = indexed(key, i);
        if (!item.is_object()) {
            return sys::Error::invalid(fmt::format("{} is not an object", path));
        }
        TransparencyLog log;
        if (const auto* url = jf::find(item, "baseUrl"); url != nullptr && url->is_string()) {
            log.base_url = url->get<std::string>();
        }
        auto hash = jf::string(item, path, "hashAlgorithm");
        if (!hash) {
            return hash.error();
        }
        if (*hash != "SHA2_256") {
            return sys::Error::invalid(fmt::format("{}.hashAlgorithm is {}; supported: SHA2_256",
                                                   path, sys::quoted(*hash)));
        }
        auto key_object = jf::object(item, path, "publicKey");
        if (!key_object) {
            return key_object.error();
        }
        const auto key_path = jf::path_of(path, "publicKey");
        auto der = jf::base64(**key_object, key_path, "rawBytes");
        if (!der) {
            return der.error();
        }
        if (auto parsed = sys::PublicKey::parse_der(*der, key_path + ".rawBytes"); !parsed) {
            return parsed.error();
        }
        log.public_key = std::move(*der);
        if (const auto* details = jf::find(**key_object, "keyDetails");
            details != nullptr && details->is_string()) {
            log.key_details = details->get<std::string>();
        }
        auto period = validity(**key_object, key_path, true);
        if (!period) {
            return period.error();
        }
        log.valid_for = *period;
        if (jf::find(item, "logId") != nullptr) {
            auto log_id = jf::object(item, path, "logId");
            if (!log_id) {
                return log_id.error();
            }
            auto id = jf::base64(**log_id, jf::path_of(path, "logId"), "keyId");
            if (!id) {
                return id.error();
            }
            log.log_id = std::move(*id);
        } else {
            log.log_id = sys::sha256(log.public_key);
        }
        out.push_back(std::move(log));
    }
    return out;
}

}  // namespace

const TransparencyLog* TrustedRoot::find_tlog(std::string_view log_id) const {
    for (const auto& log : tlogs) {
        if (log.log_id == log_id) {
            return &log;
        }
    }
    return nullptr;
}

sys::Result<TrustedRoot> parse_trusted_root(std::string_view json) {
    auto root = jf::parse_object(json, "trusted root", k_max_trusted_root_size);
    if (!root) {
        return root.error();
    }
    auto media_type = jf::string(*root, "", "mediaType");
    if (!media_type) {
        return in_root(media_type.error());
    }
    if (*media_type != k_trusted_root_media_type) {
        return sys::Error::invalid(fmt::format("trusted root: mediaType is {}, expected {}",
                                               sys::quoted(*media_type),
                                               k_trusted_root_media_type));
    }
    TrustedRoot out;
    auto cas = authorities(*root, "certificateAuthorities");
    if (!cas) {
        return in_root(cas.error());
    }
    out.certificate_authorities = std::move(*cas);
    auto tsas = authorities(*root, "timestampAuthorities");
    if (!tsas) {
        return in_root(tsas.error());
    }
    out.timestamp_authorities = std::move(*tsas);
    auto tlogs = logs(*root, "tlogs");
    if (!tlogs) {
        return in_root(tlogs.error());
    }
    out.tlogs = std::move(*tlogs);
    auto ctlogs = logs(*root, "ctlogs");
    if (!ctlogs) {
        return in_root(ctlogs.error());
    }
    out.ctlogs = std::move(*ctlogs);
    return out;
}

sys::Result<TrustedRoot> load_trusted_root(const std::filesystem::path& file) {
    auto text = sys::read_file(file);
    if (!text) {
        // read_file's message starts with the file's name.
        return sys::Error{text.error().kind,
                          fmt::format("cannot read trusted root {}", text.error().message)};
    }
    auto root = parse_trusted_root(*text);
    if (!root) {
        return sys::Error::invalid(fmt::format("{} is not a Sigstore trusted root: {}",
                                               file.string(), root.error().message));
    }
    return root;
}

}  // namespace agentd::sigstore
