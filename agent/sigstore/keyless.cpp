#include "agent/sigstore/keyless.h"

#include <fmt/format.h>

#include "agent/sys/digest.h"
#include "agent/sys/public_key.h"
#include "agent/sys/quote.h"
#include "agent/sigstore/fulcio.h"
#include "agent/sigstore/rekor.h"
#include "agent/sigstore/rekor_body.h"

namespace agentd::sigstore {

namespace {

// Log entries of one signature checked for a valid one; more are ignored.
constexpr std::size_t k_tlog_entries_checked = 8;

bool signature_verifies(const sys::PublicKey& key, const SignedContent& content,
                        std::string_view signature) {
    if (const auto* message = std::get_if<MessageDigest>(&content)) {
        return key.verifies_digest(message->digest, signature, message->hash);
    }
    const auto& envelope = std::get<DsseEnvelope>(content);
    return key.verifies(dsse_pae(envelope.payload_type, envelope.payload), signature,
                        key.natural_hash());
}

/// Checks one entry of a known log. Ok(true): it verified with a SET (its time is signed).
sys::Result<bool> check_entry(const TlogEntry& entry, const TransparencyLog& log,
                              const KeylessEvidence& evidence) {
    const auto where = fmt::format("log entry {} of {}", entry.log_index, log.base_url);
    auto body = parse_rekor_body(entry.body);
    if (!body) {
        return sys::Error::invalid(fmt::format("{}: {}", where, body.error().message));
    }
    if (!entry.kind.empty() && (entry.kind != body->kind || entry.version != body->version)) {
        return sys::Error::invalid(fmt::format(
            "{}: its kindVersion {} {} is not its body's {} {}", where, sys::quoted(entry.kind),
            sys::quoted(entry.version), body->kind, body->version));
    }
    if (auto mismatch =
            body_mismatch(*body, evidence.content, evidence.signature, evidence.certificate)) {
        return sys::Error::invalid(
            fmt::format("{} is not about this signature: {}", where, *mismatch));
    }
    const bool has_set = !entry.signed_entry_timestamp.empty();
    if (has_set) {
        if (auto set = verify_signed_entry_timestamp(entry, log); !set) {
            return set.error();
        }
    }
    if (entry.inclusion_proof) {
        if (auto proof = verify_inclusion_proof(entry, log); !proof) {
            return proof.error();
        }
    }
    if (!has_set && !entry.inclusion_proof) {
        return sys::Error::invalid(
            fmt::format("{} has neither a signed entry timestamp nor an inclusion proof", where));
    }
    return has_set;
}

}  // namespace

std::string KeylessVerified::describe() const {
    return fmt::format(
        "keyless signature by {} (issuer {}), certificate from {}, logged in {} entry {} at {}{}",
        identity, issuer, ca, log, log_index, sys::format_rfc3339(signing_time),
        inclusion_proof ? " (inclusion proof verified)" : "");
}

sys::Result<KeylessVerified> verify_keyless(const TrustedRoot& root, const KeylessPolicy& policy,
                                            const KeylessEvidence& evidence) {
    // 1. The signature, with the certificate's key.
    auto leaf = read_fulcio_identity(evidence.certificate);
    if (!leaf) {
        return leaf.error();
    }
    const auto key = sys::PublicKey::parse_der(leaf->public_key, "of the signing certificate");
    if (!key) {
        return sys::Error::invalid("the signing certificate's key is not supported: " +
                                   key.error().message);
    }
    if (!signature_verifies(*key, evidence.content, evidence.signature)) {
        return sys::Error::invalid(fmt::format(
            "the signature does not verify with the key of the certificate issued to {}",
            sys::quoted(leaf->identity)));
    }

    // 2. The transparency log: an entry about this signature, with a signed time.
    KeylessVerified out;
    bool timed = false;
    std::size_t known = 0;
    for (std::size_t i = 0; i < evidence.tlog_entries.size() && i < k_tlog_entries_checked; ++i) {
        const auto& entry = evidence.tlog_entries[i];
        const auto* log = root.find_tlog(entry.log_id);
        if (log == nullptr) {
            continue;  // a log this root does not trust proves nothing, and harms nothing
        }
        ++known;
        auto checked = check_entry(entry, *log, evidence);
        if (!checked) {
            return checked.error();
        }
        if (*checked && !timed) {
            timed = true;
            out.log = log->base_url;
            out.log_index = entry.log_index;
            out.signing_time = std::chrono::system_clock::from_time_t(entry.integrated_time);
            out.inclusion_proof = entry.inclusion_proof.has_value();
        }
    }
    if (known == 0) {
        return sys::Error::invalid(fmt::format(
            "no transparency log entry from a log of the trusted root ({} entries given); "
            "expected one signed by {}",
            evidence.tlog_entries.size(),
            root.tlogs.empty() ? std::string("(the trusted root has no log)")
                               : root.tlogs.front().base_url));
    }
    if (!timed) {
        return sys::Error::invalid(
            "no transparency log entry has a signed entry timestamp, so the signing time is "
            "not proven (an inclusion proof does not sign the time; RFC 3161 timestamps are "
            "not supported yet)");
    }

    // 3. The certificate, at the signing time.
    auto certificate =
        verify_fulcio_certificate(root, evidence.certificate, evidence.chain, out.signing_time);
    if (!certificate) {
        return certificate.error();
    }

    // 4. Who signed.
    out.identity = certificate->leaf.identity;
    out.issuer = certificate->leaf.issuer;
    out.ca = certificate->ca;
    if (!policy.identity.matches(out.identity)) {
        return sys::Error::invalid(fmt::format("the certificate's identity is {}, expected {}",
                                               sys::quoted(out.identity, 256),
                                               sys::quoted(policy.identity.text(), 256)));
    }
    if (!policy.issuer.matches(out.issuer)) {
        return sys::Error::invalid(fmt::format("the certificate's OIDC issuer is {}, expected {}",
                                               sys::quoted(out.issuer, 256),
                                               sys::quoted(policy.issuer.text(), 256)));
    }
    return out;
}

}  // namespace agentd::sigstore
