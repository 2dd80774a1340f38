// Sigstore bundles (agent/sigstore/sigstore_bundle) and the in-toto statements inside them
// (agent/sigstore/in_toto), both from a registry (anyone who can push an artifact referring to
// the image). The input is split at "\n--\n": the first part is a bundle, a second part (if
// any) an in-toto statement; a parsed bundle's DSSE payload is read as a statement too.
// Invariants: a parsed bundle has exactly one content and one verification material, counts
// within the bounds and what its version requires of each log entry; a statement has at least
// one subject; a digest check that passes names the digest; the keyless evidence of a bundle
// is refused or over the caller's digest; errors are InvalidInput, never empty.

#include "agent/sigstore/bundle_evidence.h"
#include "agent/sigstore/in_toto.h"
#include "agent/sigstore/sigstore_bundle.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

const std::string k_digest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

void check_statement(std::string_view payload) {
    const auto statement = sigstore::parse_in_toto_statement(payload);
    if (!statement) {
        FUZZ_CHECK(!statement.error().message.empty());
        FUZZ_CHECK(statement.error().kind == sys::Error::Kind::InvalidInput);
        return;
    }
    FUZZ_CHECK(!statement->subjects.empty() && statement->subjects.size() <= 1024);
    FUZZ_CHECK(statement->type == sigstore::k_in_toto_statement_v1 ||
               statement->type == sigstore::k_in_toto_statement_v01);
    const auto wrong = sigstore::check_subject_digest(*statement, k_digest);
    if (!wrong) {
        bool named = false;
        for (const auto& subject : statement->subjects) {
            const auto it = subject.digest.find("sha256");
            named = named || (it != subject.digest.end() && it->second.size() == 64);
        }
        FUZZ_CHECK(named);
    } else {
        FUZZ_CHECK(!wrong->empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));
    if (parts.size() > 1) {
        check_statement(parts[1]);
    }

    const auto bundle = sigstore::parse_sigstore_bundle(parts[0]);
    if (!bundle) {
        FUZZ_CHECK(!bundle.error().message.empty());
        FUZZ_CHECK(bundle.error().kind == sys::Error::Kind::InvalidInput);
        return 0;
    }
    FUZZ_CHECK(bundle->minor_version >= 1 && bundle->minor_version <= 3);
    FUZZ_CHECK(sigstore::sigstore_bundle_version(bundle->media_type) == bundle->minor_version);
    FUZZ_CHECK(bundle->message_signature.has_value() != bundle->dsse_envelope.has_value());
    FUZZ_CHECK(bundle->certificates.empty() == bundle->public_key_hint.has_value());
    FUZZ_CHECK(bundle->certificates.size() <= 16 && bundle->tlog_entries.size() <= 16);
    FUZZ_CHECK(!(bundle->minor_version == 3 && bundle->certificate_chain));
    for (const auto& certificate : bundle->certificates) {
        FUZZ_CHECK(!certificate.empty());
    }
    for (const auto& entry : bundle->tlog_entries) {
        FUZZ_CHECK(!entry.log_id.empty() && !entry.kind.empty());
        FUZZ_CHECK(entry.log_index >= 0 && entry.integrated_time >= 0);
        if (bundle->minor_version == 1) {
            FUZZ_CHECK(!entry.signed_entry_timestamp.empty());
        } else {
            FUZZ_CHECK(entry.inclusion_proof && !entry.inclusion_proof->checkpoint.empty());
        }
        if (entry.inclusion_proof) {
            FUZZ_CHECK(entry.inclusion_proof->hashes.size() <= 64);
            FUZZ_CHECK(entry.inclusion_proof->root_hash.size() == 32);
        }
    }
    if (bundle->message_signature) {
        FUZZ_CHECK(!bundle->message_signature->digest.empty());
        FUZZ_CHECK(!bundle->message_signature->signature.empty());
        if (!sigstore::check_message_digest(*bundle->message_signature, k_digest)) {
            FUZZ_CHECK(bundle->message_signature->digest.size() == 32);
        }
    }
    if (bundle->dsse_envelope) {
        const auto& envelope = *bundle->dsse_envelope;
        FUZZ_CHECK(!envelope.payload.empty() && !bundle->dsse_signature.sig.empty());
        const auto pae = sigstore::dsse_pae(envelope.payload_type, envelope.payload);
        FUZZ_CHECK(pae.size() > envelope.payload.size() + envelope.payload_type.size());
        FUZZ_CHECK(pae.compare(pae.size() - envelope.payload.size(), std::string::npos,
                               envelope.payload) == 0);
        check_statement(envelope.payload);
    }
    // The evidence for an image: refused with a reason, or over the caller's digest.
    const auto evidence = sigstore::bundle_keyless_evidence(*bundle, k_digest);
    if (!evidence) {
        FUZZ_CHECK(!evidence.error().message.empty());
        FUZZ_CHECK(evidence.error().kind == sys::Error::Kind::InvalidInput);
    } else {
        FUZZ_CHECK(evidence->certificate == bundle->certificates.front());
        if (const auto* digest = std::get_if<sigstore::MessageDigest>(&evidence->content)) {
            FUZZ_CHECK("sha256:" + sys::hex_encode(digest->digest) == k_digest);
        }
    }
    return 0;
}
