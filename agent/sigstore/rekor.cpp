#include "agent/sigstore/rekor.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/base64.h"
#include "agent/sys/digest.h"
#include "agent/sys/public_key.h"
#include "agent/sigstore/checkpoint.h"
#include "agent/sigstore/merkle.h"

namespace agentd::sigstore {

namespace {

std::string log_name(const TransparencyLog& log) {
    return log.base_url.empty() ? "log " + sys::hex_encode(log.log_id) : log.base_url;
}

}  // namespace

std::string signed_entry_timestamp_payload(const TlogEntry& entry) {
    // nlohmann's objects are std::maps, so dump() sorts the keys by bytes: for these ASCII
    // keys, RFC 8785's order. Base64 and hex need no escaping, integers print plainly.
    nlohmann::json payload = {
        {"body", sys::base64_encode(entry.body)},
        {"integratedTime", entry.integrated_time},
        {"logID", sys::hex_encode(entry.log_id)},
        {"logIndex", entry.log_index},
    };
    return payload.dump();
}

sys::Result<void> verify_signed_entry_timestamp(const TlogEntry& entry,
                                                const TransparencyLog& log) {
    if (entry.signed_entry_timestamp.empty()) {
        return sys::Error::invalid("the log entry has no signed entry timestamp");
    }
    // Rekor began in 2021; 9e9 seconds is the year 2255: beyond, the time cannot be converted.
    if (entry.integrated_time <= 0 || entry.integrated_time > 9'000'000'000) {
        return sys::Error::invalid(
            fmt::format("the log entry's integratedTime {} is not a time", entry.integrated_time));
    }
    const auto integrated = std::chrono::system_clock::from_time_t(entry.integrated_time);
    if (!log.valid_for.contains(integrated)) {
        return sys::Error::invalid(
            fmt::format("the key of {} was not valid at the entry's integrated time {}",
                        log_name(log), sys::format_rfc3339(integrated)));
    }
    const auto key = sys::PublicKey::parse_der(log.public_key, log_name(log));
    if (!key) {
        return key.error();
    }
    if (!key->verifies(signed_entry_timestamp_payload(entry), entry.signed_entry_timestamp,
                       sys::Hash::Sha256)) {
        return sys::Error::invalid(fmt::format(
            "the signed entry timestamp of log entry {} does not verify with the key of {}",
            entry.log_index, log_name(log)));
    }
    return {};
}

sys::Result<void> verify_inclusion_proof(const TlogEntry& entry, const TransparencyLog& log) {
    if (!entry.inclusion_proof) {
        return sys::Error::invalid("the log entry has no inclusion proof");
    }
    const auto& proof = *entry.inclusion_proof;
    const auto root = merkle_root_from_proof(static_cast<std::uint64_t>(proof.log_index),
                                             static_cast<std::uint64_t>(proof.tree_size),
                                             merkle_leaf_hash(entry.body), proof.hashes);
    if (!root || *root != proof.root_hash) {
        return sys::Error::invalid(fmt::format(
            "the inclusion proof of log entry {} does not lead to its root hash {} (index {} of "
            "a tree of {})",
            entry.log_index, sys::hex_encode(proof.root_hash), proof.log_index, proof.tree_size));
    }
    const auto checkpoint = parse_checkpoint(proof.checkpoint);
    if (!checkpoint) {
        return checkpoint.error();
    }
    if (checkpoint->tree_size != static_cast<std::uint64_t>(proof.tree_size) ||
        checkpoint->root_hash != proof.root_hash) {
        return sys::Error::invalid(fmt::format(
            "the checkpoint (tree size {}, root {}) is not the tree of the inclusion proof (size "
            "{}, root {})",
            checkpoint->tree_size, sys::hex_encode(checkpoint->root_hash), proof.tree_size,
            sys::hex_encode(proof.root_hash)));
    }
    if (!checkpoint_signed_by(*checkpoint, log)) {
        return sys::Error::invalid(fmt::format(
            "the checkpoint of the inclusion proof is not signed by the key of {}", log_name(log)));
    }
    return {};
}

}  // namespace agentd::sigstore
