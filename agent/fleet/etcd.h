#pragma once
// What agentd asks of etcd (v3): the few key-value, transaction, lease and watch calls the
// fleet's rollout slots, halts and done marks are made of. One interface, so that the rollout
// logic is tested against a fake and the real store alike (EtcdGateway speaks to etcd).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::fleet {

/// A key as etcd stores it. Revisions are the cluster's logical clock: create_revision orders
/// keys by when they were created (a counting semaphore's queue), mod_revision by their last
/// change. lease is 0 for a key that lives until deleted.
struct KeyValue {
    std::string key;
    std::string value;
    std::int64_t create_revision = 0;
    std::int64_t mod_revision = 0;
    std::int64_t version = 0;
    std::int64_t lease = 0;

    bool operator==(const KeyValue&) const = default;
};

/// Every key under a prefix, ordered by key, and the store's revision when they were read.
struct Listing {
    std::vector<KeyValue> kvs;
    std::int64_t revision = 0;
};

/// One condition of a transaction: the key's create_revision compared with a value (0: the key
/// does not exist).
struct Compare {
    enum class Op { Equal, NotEqual, Less, Greater };
    std::string key;
    Op op = Op::Equal;
    std::int64_t create_revision = 0;
};

/// One write of a transaction.
struct Write {
    enum class Kind { Put, Delete, DeletePrefix };
    Kind kind = Kind::Put;
    std::string key;  ///< the prefix for DeletePrefix
    std::string value;
    std::int64_t lease = 0;  ///< Put: bind the key to this lease (0: none)

    static Write put(std::string key, std::string value, std::int64_t lease = 0);
    static Write erase(std::string key);
    static Write erase_prefix(std::string prefix);
};

/// All conditions hold -> `then` is applied, else `otherwise`; atomically either way.
struct Txn {
    std::vector<Compare> when;
    std::vector<Write> then;
    std::vector<Write> otherwise;
};

struct TxnResult {
    bool succeeded = false;
    std::int64_t revision = 0;  ///< the store's revision after the transaction
};

/// A change seen by a watch.
struct WatchEvent {
    enum class Kind { Put, Delete };
    Kind kind = Kind::Put;
    KeyValue kv;  ///< for Delete: the key and mod_revision (the deletion's revision)
};

/// What a watch hands over per message: its events (possibly none: a progress notice) and the
/// revision the store had when it sent them.
struct WatchBatch {
    std::vector<WatchEvent> events;
    std::int64_t revision = 0;
};

class Etcd {
public:
    virtual ~Etcd() = default;

    /// Every key that starts with prefix.
    virtual sys::Result<Listing> list(const std::string& prefix) = 0;
    virtual sys::Result<TxnResult> txn(const Txn& txn) = 0;

    /// A new lease that ends ttl after the last keep-alive; returns its id.
    virtual sys::Result<std::int64_t> grant_lease(sys::Duration ttl) = 0;
    /// Renews the lease; returns the time it has left (NotFound: it expired or was revoked, and
    /// every key bound to it is gone).
    virtual sys::Result<sys::Duration> keep_alive(std::int64_t lease) = 0;
    /// Ends the lease now, deleting every key bound to it. An unknown lease is not an error.
    virtual sys::Result<void> revoke_lease(std::int64_t lease) = 0;

    /// Follows every change under prefix from revision `from` on (0: from now), handing each
    /// message to on_batch, until on_batch returns false, `cancelled` returns true or the
    /// stream breaks (an error). Conflict: `from` was compacted away; list again and watch from
    /// the listing's revision + 1.
    virtual sys::Result<void> watch(const std::string& prefix, std::int64_t from,
                                    const std::function<bool(const WatchBatch&)>& on_batch,
                                    const std::function<bool()>& cancelled) = 0;
};

}  // namespace agentd::fleet
