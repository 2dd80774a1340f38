#include "agent/sigstore/rekor_entry.h"

#include <fmt/format.h>

#include "agent/sys/digest.h"
#include "agent/sigstore/json_fields.h"

namespace agentd::sigstore {

namespace {

namespace jf = json_fields;

// A Merkle audit path has one hash per tree level: 64 covers any tree of 2^64 leaves.
constexpr std::size_t k_max_proof_hashes = 64;
constexpr std::size_t k_hash_size = 32;
// Seconds since the epoch beyond which a time is no time any log wrote (year 2255): refused,
// so that converting it cannot overflow.
constexpr std::int64_t k_max_time = 9'000'000'000;

sys::Error prefixed(std::string_view what, const sys::Error& error) {
    return sys::Error::invalid(fmt::format("{}: {}", what, error.message));
}

sys::Result<InclusionProof> inclusion_proof(const nlohmann::json& proof, const std::string& path) {
    InclusionProof out;
    auto index = jf::integer_or_zero(proof, path, "logIndex");
    if (!index) {
        return index.error();
    }
    out.log_index = *index;
    auto root = jf::base64(proof, path, "rootHash");
    if (!root) {
        return root.error();
    }
    if (root->size() != k_hash_size) {
        return sys::Error::invalid(fmt::format("{}.rootHash is not 32 bytes", path));
    }
    out.root_hash = std::move(*root);
    auto size = jf::integer(proof, path, "treeSize");
    if (!size) {
        return size.error();
    }
    out.tree_size = *size;
    auto hashes = jf::array(proof, path, "hashes", k_max_proof_hashes, true);
    if (!hashes) {
        return hashes.error();
    }
    for (std::size_t i = 0; i < (*hashes)->size(); ++i) {
        const auto& item = (**hashes)[i];
        auto bytes = item.is_string() ? jf::decode_base64(item.get<std::string>()) : std::nullopt;
        if (!bytes || bytes->size() != k_hash_size) {
            return sys::Error::invalid(
                fmt::format("{}.hashes[{}] is not a base64 SHA-256 hash", path, i));
        }
        out.hashes.push_back(std::move(*bytes));
    }
    auto checkpoint = jf::object(proof, path, "checkpoint");
    if (!checkpoint) {
        return checkpoint.error();
    }
    auto envelope = jf::string(**checkpoint, jf::path_of(path, "checkpoint"), "envelope");
    if (!envelope) {
        return envelope.error();
    }
    out.checkpoint = std::move(*envelope);
    return out;
}

}  // namespace

sys::Result<TlogEntry> parse_cosign_bundle(std::string_view json) {
    constexpr std::string_view k_what = "the cosign bundle annotation";
    auto root = jf::parse_object(json, k_what, k_max_tlog_entry_size);
    if (!root) {
        return root.error();
    }
    TlogEntry out;
    auto set = jf::base64(*root, "", "SignedEntryTimestamp");
    if (!set) {
        return prefixed(k_what, set.error());
    }
    out.signed_entry_timestamp = std::move(*set);
    auto payload = jf::object(*root, "", "Payload");
    if (!payload) {
        return prefixed(k_what, payload.error());
    }
    const auto& p = **payload;
    auto body = jf::base64(p, "Payload", "body");
    if (!body) {
        return prefixed(k_what, body.error());
    }
    out.body = std::move(*body);
    auto time = jf::integer(p, "Payload", "integratedTime");
    if (!time) {
        return prefixed(k_what, time.error());
    }
    if (*time > k_max_time) {
        return sys::Error::invalid(
            fmt::format("{}: Payload.integratedTime is out of range", k_what));
    }
    out.integrated_time = *time;
    auto index = jf::integer(p, "Payload", "logIndex");
    if (!index) {
        return prefixed(k_what, index.error());
    }
    out.log_index = *index;
    auto log_id = jf::string(p, "Payload", "logID");
    if (!log_id) {
        return prefixed(k_what, log_id.error());
    }
    auto raw_id = sys::hex_decode(*log_id);
    if (!raw_id || raw_id->size() != k_hash_size) {
        return sys::Error::invalid(
            fmt::format("{}: Payload.logID is not the hex of a SHA-256 hash", k_what));
    }
    out.log_id = std::move(*raw_id);
    return out;
}

sys::Result<TlogEntry> parse_bundle_tlog_entry(std::string_view json) {
    constexpr std::string_view k_what = "the transparency log entry";
    auto root = jf::parse_object(json, k_what, k_max_tlog_entry_size);
    if (!root) {
        return root.error();
    }
    auto entry = parse_bundle_tlog_entry(*root, "");
    if (!entry) {
        return prefixed(k_what, entry.error());
    }
    return entry;
}

sys::Result<TlogEntry> parse_bundle_tlog_entry(const nlohmann::json& e, std::string_view path) {
    const std::string at(path);
    if (!e.is_object()) {
        return sys::Error::invalid(fmt::format("{} is not an object", at.empty() ? "it" : at));
    }
    TlogEntry out;
    auto body = jf::base64(e, at, "canonicalizedBody");
    if (!body) {
        return body.error();
    }
    out.body = std::move(*body);
    auto index = jf::integer_or_zero(e, at, "logIndex");
    if (!index) {
        return index.error();
    }
    out.log_index = *index;
    auto log_id = jf::object(e, at, "logId");
    if (!log_id) {
        return log_id.error();
    }
    auto key_id = jf::base64(**log_id, jf::path_of(at, "logId"), "keyId");
    if (!key_id) {
        return key_id.error();
    }
    out.log_id = std::move(*key_id);
    auto kind_version = jf::object(e, at, "kindVersion");
    if (!kind_version) {
        return kind_version.error();
    }
    const auto kv_path = jf::path_of(at, "kindVersion");
    auto kind = jf::string(**kind_version, kv_path, "kind");
    auto version = jf::string(**kind_version, kv_path, "version");
    if (!kind || !version) {
        return kind ? version.error() : kind.error();
    }
    out.kind = std::move(*kind);
    out.version = std::move(*version);
    if (jf::find(e, "integratedTime") != nullptr) {
        auto time = jf::integer(e, at, "integratedTime");
        if (!time) {
            return time.error();
        }
        if (*time > k_max_time) {
            return sys::Error::invalid(
                fmt::format("{} is out of range", jf::path_of(at, "integratedTime")));
        }
        out.integrated_time = *time;
    }
    if (jf::find(e, "inclusionPromise") != nullptr) {
        auto promise = jf::object(e, at, "inclusionPromise");
        if (!promise) {
            return promise.error();
        }
        auto set =
            jf::base64(**promise, jf::path_of(at, "inclusionPromise"), "signedEntryTimestamp");
        if (!set) {
            return set.error();
        }
        out.signed_entry_timestamp = std::move(*set);
    }
    if (jf::find(e, "inclusionProof") != nullptr) {
        auto proof_object = jf::object(e, at, "inclusionProof");
        if (!proof_object) {
            return proof_object.error();
        }
        auto proof = inclusion_proof(**proof_object, jf::path_of(at, "inclusionProof"));
        if (!proof) {
            return proof.error();
        }
        out.inclusion_proof = std::move(*proof);
    }
    if (out.signed_entry_timestamp.empty() && !out.inclusion_proof) {
        return sys::Error::invalid(fmt::format(
            "{} has neither an inclusionPromise nor an inclusionProof", at.empty() ? "it" : at));
    }
    return out;
}

}  // namespace agentd::sigstore
