#pragma once
// The fleet's rollout rules, without I/O: where a stack's coordination lives in etcd, what its
// keys hold, and whether this host may start a release now.
//
// Per group and stack, under /agentd/<group>/<stack>/:
//   slots/<host>             a host that wants to deploy (bound to its lease). The hosts whose
//                            keys are the max_updating oldest (lowest create_revision) hold a
//                            slot: a counting semaphore with a queue, freed by a dead host's
//                            lease running out.
//   halt                     a release failed on a host: no host starts that release (no lease:
//                            it stays until an admin or a newer release clears it)
//   done/<release>/<host>    the release passed the gate and the soak on that host (a host keeps
//                            its marks of its last k_done_marks_kept releases)

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fleet/etcd.h"

namespace agentd::fleet {

/// The keys of one stack in one group. Names are checked by the configuration
/// (config::is_fleet_name), so none holds a '/'.
struct StackKeys {
    std::string group;
    std::string stack;

    std::string root() const;  ///< "/agentd/<group>/<stack>/"
    std::string slots() const;
    std::string slot(std::string_view host) const;
    std::string halt() const;
    std::string done(std::string_view release) const;
    std::string done(std::string_view release, std::string_view host) const;
};

struct SlotHolder {
    std::string host;
    std::string release;
    std::string since;  ///< RFC 3339, when the host asked
    std::int64_t create_revision = 0;
    std::int64_t lease = 0;
};

struct Halt {
    std::string release;
    std::string host;
    std::string reason;
    std::string time;
    std::int64_t mod_revision = 0;
};

/// One stack's coordination as read from etcd.
struct StackView {
    std::vector<SlotHolder> queue;  ///< by create_revision: the first max_updating hold slots
    std::optional<Halt> halt;
    std::map<std::string, std::vector<std::string>> done;  ///< release -> hosts, sorted
    /// When each done mark was written (its mod_revision): host -> release -> revision.
    std::map<std::string, std::map<std::string, std::int64_t>> done_at;
    std::vector<std::string> malformed;                    ///< keys whose value could not be read
};

/// Reads the keys under keys.root() (others are ignored).
StackView read_stack_view(const std::vector<KeyValue>& kvs, const StackKeys& keys);

/// "/agentd/<group>/": where every stack of the group keeps its keys.
std::string group_root(std::string_view group);

/// Every stack with keys under group_root(group), by name; a key whose stack part is not a
/// fleet name is listed in `malformed` of the stack "" (it is nobody's).
std::map<std::string, StackView> read_group_view(const std::vector<KeyValue>& kvs,
                                                 const std::string& group);

std::string slot_value(std::string_view host, std::string_view release, std::string_view since);
std::string halt_value(const Halt& halt);
std::string done_value(std::string_view host, std::string_view time);

struct RolloutRules {
    int max_updating = 1;
    /// This host starts a release before the others: it waits for no done mark.
    bool canary = true;
    /// Hosts that are not canaries start a release once this many hosts are done with it.
    int after_done = 0;
};

/// Whether this host may go on with release now.
struct Turn {
    enum class Kind {
        Go,       ///< it holds a slot (`reason` says which hosts hold the others)
        Enqueue,  ///< nothing stops it, but it has no key in the queue yet: create it, then ask
                  ///< again
        Wait,     ///< halted, a wave not ready, or no free slot: `reason` says which
    };
    Kind kind = Kind::Wait;
    std::string reason;
};

Turn rollout_turn(const StackView& view, std::string_view host, std::string_view release,
                  const RolloutRules& rules);

/// How many of its own done marks a host keeps per stack: the release it just finished and the
/// one before; older ones are deleted with the new mark, so the done marks stay bounded (at most
/// this many per host) however many releases the fleet goes through.
inline constexpr std::size_t k_done_marks_kept = 2;

/// The releases whose done marks `host` deletes as it marks `release` done: all of its own but
/// the newest k_done_marks_kept - 1 other ones.
std::vector<std::string> stale_done_marks(const StackView& view, std::string_view host,
                                          std::string_view release);

/// The hosts that hold a slot now: the first max_updating of the queue.
std::vector<SlotHolder> slot_holders(const StackView& view, int max_updating);

}  // namespace agentd::fleet
