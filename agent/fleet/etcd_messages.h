#pragma once
// The JSON of etcd's gRPC gateway (/v3/...), without I/O: request bodies for the calls of
// fleet::Etcd, and their answers read back. Keys and values travel base64-encoded, 64-bit
// integers as decimal strings (an absent field is zero, as proto3 leaves it out).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/fleet/etcd.h"
#include "agent/sys/result.h"

namespace agentd::fleet {

/// The first key after every key that starts with prefix (etcd's range_end for a prefix):
/// the prefix with its last byte below 0xff incremented and what follows dropped; "\0" (every
/// key) when there is none.
std::string prefix_end(std::string_view prefix);

std::string list_request(std::string_view prefix);
std::string txn_request(const Txn& txn);
std::string lease_grant_request(sys::Duration ttl);
std::string lease_request(std::int64_t lease);  ///< keep-alive and revoke
/// A watch's create_request; progress_notify asks for an empty message now and then, so that
/// a silent stream is told apart from a dead one.
std::string watch_request(std::string_view prefix, std::int64_t from);

/// An answer the gateway gave with an HTTP error status: its gRPC code as an Error kind
/// (NOT_FOUND -> NotFound, UNAVAILABLE -> Unavailable, UNAUTHENTICATED and PERMISSION_DENIED
/// -> Unauthorized, INVALID_ARGUMENT -> InvalidInput, others Failed) with etcd's message.
sys::Error gateway_error(long status, std::string_view body);

sys::Result<Listing> parse_listing(std::string_view body);
sys::Result<TxnResult> parse_txn(std::string_view body);
sys::Result<std::int64_t> parse_lease_grant(std::string_view body);
/// The lease's time left; NotFound when the answer has none (the lease is gone).
sys::Result<sys::Duration> parse_keep_alive(std::string_view body);
/// One message of a watch stream. nullopt for the acknowledgement of the watch's creation;
/// Conflict when the start revision was compacted; Failed when etcd cancelled the watch.
sys::Result<std::optional<WatchBatch>> parse_watch_message(std::string_view line);
/// The token of /v3/auth/authenticate's answer.
sys::Result<std::string> parse_auth_token(std::string_view body);

}  // namespace agentd::fleet
