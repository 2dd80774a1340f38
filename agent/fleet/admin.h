#pragma once
// What an admin asks of the fleet (`agentctl fleet`): the group's rollout state as etcd has it
// now, and the two interventions, clearing a halt and freeing a dead host's slot. FleetSession
// is the real one; the API's tests use a fake.

#include <map>
#include <optional>
#include <set>
#include <string>

#include "agent/fleet/rollout.h"
#include "agent/sys/result.h"

namespace agentd::fleet {

/// The group's coordination as read from etcd, with this host's view of the rules.
struct GroupView {
    std::string group;
    std::string host;  ///< this host's name in the fleet
    int max_updating = 1;
    std::int64_t revision = 0;  ///< etcd's revision when it was read
    std::map<std::string, StackView> stacks;
};

/// What a host knows of its group without asking etcd: the keys as its watch last saw them.
struct FleetSeen {
    GroupView group;
    bool watching = false;          ///< the watch follows etcd (false: etcd unreachable)
    bool lease = false;             ///< this host holds its lease
    std::set<std::string> waiting;  ///< this host's stacks that wait for their turn
};

class Admin {
public:
    virtual ~Admin() = default;

    /// From memory (for /metrics): never asks etcd.
    virtual FleetSeen seen() = 0;

    /// Every stack that has keys in the group, or only `stack` (listed even without keys).
    virtual sys::Result<GroupView> look(const std::optional<std::string>& stack) = 0;
    /// Deletes the stack's halt and returns it; Conflict when the stack is not halted. Hosts
    /// waiting for the halted release start it in their turn.
    virtual sys::Result<Halt> unhalt(const std::string& stack) = 0;
    /// Deletes `host`'s key in the stack's queue (a dead host's slot, freed before its lease
    /// runs out) and returns what it held; NotFound when the host has no key there.
    virtual sys::Result<SlotHolder> release(const std::string& stack, const std::string& host) = 0;
};

}  // namespace agentd::fleet
