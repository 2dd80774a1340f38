// Rekor transparency log entries as signatures carry them (agent/sigstore/rekor_entry,
// rekor_body, checkpoint, merkle): anyone who can push a signature to the image's repository
// writes them. The input is split at "\n--\n": part 1 is read as cosign's bundle annotation
// and as a Sigstore bundle's tlog entry, part 2 (or 1) as an entry body, part 3 (or 1) as a
// checkpoint. Invariants: errors are InvalidInput and not empty; a parsed entry has a 32-byte
// log ID (cosign's) or a kind (a bundle's), and a SET or an inclusion proof whose hashes are
// 32 bytes; a proof's root is recomputed without crashing; a body has a supported kind and at
// least one signature; a checkpoint has a 32-byte root and at least one signature.

#include "agent/sigstore/rekor_entry.h"
#include "agent/sigstore/checkpoint.h"
#include "agent/sigstore/merkle.h"
#include "agent/sigstore/rekor.h"
#include "agent/sigstore/rekor_body.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

void check_error(const sys::Error& error) {
    FUZZ_CHECK(error.kind == sys::Error::Kind::InvalidInput);
    FUZZ_CHECK(!error.message.empty());
}

void check_entry(const sigstore::TlogEntry& entry) {
    FUZZ_CHECK(!entry.signed_entry_timestamp.empty() || entry.inclusion_proof);
    (void)sigstore::signed_entry_timestamp_payload(entry);
    if (entry.inclusion_proof) {
        const auto& proof = *entry.inclusion_proof;
        FUZZ_CHECK(proof.root_hash.size() == 32);
        for (const auto& hash : proof.hashes) {
            FUZZ_CHECK(hash.size() == 32);
        }
        (void)sigstore::merkle_root_from_proof(static_cast<std::uint64_t>(proof.log_index),
                                            static_cast<std::uint64_t>(proof.tree_size),
                                            sigstore::merkle_leaf_hash(entry.body), proof.hashes);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));

    const auto cosign = sigstore::parse_cosign_bundle(parts[0]);
    if (cosign) {
        FUZZ_CHECK(cosign->log_id.size() == 32);
        FUZZ_CHECK(!cosign->signed_entry_timestamp.empty());
        check_entry(*cosign);
    } else {
        check_error(cosign.error());
    }
    const auto bundle = sigstore::parse_bundle_tlog_entry(parts[0]);
    if (bundle) {
        FUZZ_CHECK(!bundle->kind.empty() && !bundle->version.empty());
        check_entry(*bundle);
    } else {
        check_error(bundle.error());
    }

    const auto body = sigstore::parse_rekor_body(parts.size() > 1 ? parts[1] : parts[0]);
    if (body) {
        FUZZ_CHECK(body->kind == "hashedrekord" || body->kind == "dsse" || body->kind == "intoto");
        FUZZ_CHECK(!body->signatures.empty());
        (void)sigstore::body_mismatch(*body, sigstore::MessageDigest{sys::Hash::Sha256, body->digest},
                                   body->signatures[0].signature, body->signatures[0].certificate);
    } else {
        check_error(body.error());
    }

    const auto checkpoint = sigstore::parse_checkpoint(parts.size() > 2 ? parts[2] : parts[0]);
    if (checkpoint) {
        FUZZ_CHECK(checkpoint->root_hash.size() == 32);
        FUZZ_CHECK(!checkpoint->signatures.empty() && checkpoint->signatures.size() <= 16);
        FUZZ_CHECK(!checkpoint->text.empty() && checkpoint->text.back() == '\n');
    } else {
        check_error(checkpoint.error());
    }
    return 0;
}
