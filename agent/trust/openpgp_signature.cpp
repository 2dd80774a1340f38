#include "agent/trust/openpgp_signature.h"

#include <gpgme.h>

#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "agent/sys/files.h"
#include "agent/trust/private_temp_dir.h"

namespace agentd::trust {
namespace {

namespace fs = std::filesystem;

struct ContextFree {
    void operator()(gpgme_ctx_t ctx) const { gpgme_release(ctx); }
};
struct DataFree {
    void operator()(gpgme_data_t data) const { gpgme_data_release(data); }
};
struct KeyFree {
    void operator()(gpgme_key_t key) const { gpgme_key_unref(key); }
};
using Context = std::unique_ptr<gpgme_context, ContextFree>;
using Data = std::unique_ptr<gpgme_data, DataFree>;
using Key = std::unique_ptr<_gpgme_key, KeyFree>;

/// gpgme must be initialised once per process before any context is made.
void init_gpgme() {
    static std::once_flag once;
    std::call_once(once, [] { gpgme_check_version(nullptr); });
}

std::string error_text(gpgme_error_t error) {
    return gpgme_strerror(error);
}

sys::Result<Data> data_of(const std::string& bytes) {
    gpgme_data_t raw = nullptr;
    // copy = 0: gpgme reads `bytes` in place; they outlive the Data.
    if (auto e = gpgme_data_new_from_mem(&raw, bytes.data(), bytes.size(), 0); e != 0) {
        return sys::Error::failed(fmt::format("gpgme: {}", error_text(e)));
    }
    return Data(raw);
}

/// Why a signature with this status is not good, for users.
std::string refusal(gpgme_signature_t sig, const fs::path& keyring) {
    const std::string fpr = sig->fpr != nullptr ? sig->fpr : "unknown";
    switch (gpgme_err_code(sig->status)) {
        case GPG_ERR_NO_PUBKEY:
            return fmt::format("OpenPGP signature by a key not in gpg_keyring {} (key {})",
                               keyring.string(), fpr);
        case GPG_ERR_BAD_SIGNATURE:
            return fmt::format("bad OpenPGP signature by key {}", fpr);
        case GPG_ERR_KEY_EXPIRED:
            return fmt::format("OpenPGP signature by expired key {}", fpr);
        case GPG_ERR_SIG_EXPIRED:
            return fmt::format("expired OpenPGP signature by key {}", fpr);
        case GPG_ERR_CERT_REVOKED:
            return fmt::format("OpenPGP signature by revoked key {}", fpr);
        default:
            return fmt::format("OpenPGP signature by key {} not valid: {}", fpr,
                               error_text(sig->status));
    }
}

}  // namespace

sys::Result<GitSignature> verify_openpgp_signature(const fs::path& keyring,
                                                   const SignedPayload& signed_payload,
                                                   std::string_view subject) {
    init_gpgme();
    auto keys = sys::read_file(keyring);
    if (!keys) {
        return sys::Error::failed(fmt::format("{}: gpg_keyring {} cannot be read: {}", subject,
                                              keyring.string(), keys.error().message));
    }
    auto home = PrivateTempDir::create("agentd-gpg");
    if (!home) {
        return home.error();
    }
    // Nothing beyond the keyring: no agent or dirmngr started, no key fetched from anywhere.
    if (auto w = sys::write_file_atomic(home->path() / "gpg.conf",
                                        "no-autostart\nno-auto-key-retrieve\n");
        !w) {
        return w.error();
    }

    gpgme_ctx_t raw_ctx = nullptr;
    if (auto e = gpgme_new(&raw_ctx); e != 0) {
        return sys::Error::failed(fmt::format("{}: gpgme: {}", subject, error_text(e)));
    }
    Context ctx(raw_ctx);
    if (auto e = gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP); e != 0) {
        return sys::Error::failed(fmt::format("{}: gpgme: {}", subject, error_text(e)));
    }
    if (auto e = gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr,
                                           home->path().c_str());
        e != 0) {
        return sys::Error::failed(
            fmt::format("{}: gpg cannot be used: {}", subject, error_text(e)));
    }

    // The keyring, into the private home.
    auto key_data = data_of(*keys);
    if (!key_data) {
        return key_data.error();
    }
    if (auto e = gpgme_op_import(ctx.get(), key_data->get()); e != 0) {
        return sys::Error::failed(
            fmt::format("{}: import gpg_keyring {}: {}", subject, keyring.string(), error_text(e)));
    }
    const auto imported = gpgme_op_import_result(ctx.get());
    if (imported == nullptr || imported->imported + imported->unchanged == 0) {
        return sys::Error::failed(fmt::format("{}: gpg_keyring {} holds no OpenPGP public key",
                                              subject, keyring.string()));
    }

    // The signature, over the payload.
    auto sig_data = data_of(signed_payload.signature);
    auto text_data = data_of(signed_payload.payload);
    if (!sig_data || !text_data) {
        return !sig_data ? sig_data.error() : text_data.error();
    }
    const auto verified = gpgme_op_verify(ctx.get(), sig_data->get(), text_data->get(), nullptr);
    const auto result = gpgme_op_verify_result(ctx.get());
    if (gpgme_err_code(verified) == GPG_ERR_NO_DATA ||
        (verified == 0 && (result == nullptr || result->signatures == nullptr))) {
        return sys::Error::invalid(
            fmt::format("{}: the OpenPGP signature block holds no signature", subject));
    }
    if (verified != 0) {
        // The engine failed (not a statement about the signature: that is in its status).
        return sys::Error::failed(fmt::format("{}: gpg could not check the signature: {}", subject,
                                              error_text(verified)));
    }
    std::string why;
    for (auto sig = result->signatures; sig != nullptr; sig = sig->next) {
        if (sig->status != 0 || sig->fpr == nullptr) {
            if (why.empty()) {
                why = refusal(sig, keyring);
            }
            continue;
        }
        GitSignature good{SignatureMethod::OpenPgp, sig->fpr, sig->fpr};
        gpgme_key_t raw_key = nullptr;
        if (gpgme_get_key(ctx.get(), sig->fpr, &raw_key, 0) == 0) {
            Key key(raw_key);
            if (key->fpr != nullptr) {
                good.key = key->fpr;  // the primary key, also for a signing subkey
            }
            if (key->uids != nullptr && key->uids->uid != nullptr) {
                good.signer = key->uids->uid;
            }
        }
        return good;
    }
    return sys::Error::invalid(fmt::format("{}: {}", subject, why));
}

}  // namespace agentd::trust
