#pragma once
// A record of the process groups agentd's children run in, so that the next agentd can clean up
// what a killed one left running. Every child is a group leader (PosixProcessRunner gives it its
// own group) and dies with agentd (PR_SET_PDEATHSIG); what it started itself (compose's
// credential helpers, `docker compose`'s plugin process) stays in its group but does not die
// with it. The group is recorded while the child runs, as an empty file in a directory of the
// state_dir named "<pgid>.<start time>.<session>": creating an empty file needs no data block, so
// a full disk does not stop a deployment, and a crash of the machine needs no record at all.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/sys/result.h"

namespace agentd::sys {

/// What identifies a process group across pid reuse: the leader's pid (the group id), the
/// leader's start time (clock ticks after boot, /proc/PID/stat field 22) and its session.
struct GroupRecord {
    pid_t pgid = 0;
    std::uint64_t start_time = 0;
    pid_t session = 0;
    bool operator==(const GroupRecord&) const = default;
};

/// A process as /proc/PID/stat shows it: the fields that tie it to a recorded group.
struct ProcessStat {
    pid_t pid = 0;
    pid_t pgid = 0;
    pid_t session = 0;
    std::uint64_t start_time = 0;
    char state = '?';  ///< 'Z' for a zombie
};

/// Parses the contents of /proc/PID/stat (the command may hold spaces and parentheses).
std::optional<ProcessStat> parse_proc_stat(const std::string& text);
/// /proc/PID/stat of a live process; nullopt when it is gone.
std::optional<ProcessStat> read_proc_stat(pid_t pid);

/// The record's file name, and back (nullopt for a name that is not one).
std::string record_name(const GroupRecord& record);
std::optional<GroupRecord> parse_record_name(const std::string& name);

/// Whether `process` belongs to the group `record` names: same group and session, started
/// no earlier than the group's leader. A pid (and so a group id) is not reused while any member
/// of the group lives; once the group is empty a new group may get the number, but its
/// processes start later than our leader and in another session, or in ours only if agentd's
/// session outlived it (then they are left alone unless they also started after our leader, the
/// one case this cannot tell apart).
bool belongs_to(const ProcessStat& process, const GroupRecord& record);

class ProcessGroups {
public:
    /// Records live in `dir` (created on first use, mode 0700).
    explicit ProcessGroups(std::filesystem::path dir);

    /// Records the group led by `leader`, a child just started. An error when it cannot be
    /// recorded (the child runs anyway; the caller logs it).
    Result<void> add(pid_t leader);
    /// Forgets the group of `leader` (reaped).
    void remove(pid_t leader);

    struct Killed {
        GroupRecord group;
        std::vector<pid_t> members;  ///< the live members found and sent SIGKILL
    };
    /// At start, before any child runs: sends SIGKILL to every recorded group that still has
    /// live members (a previous agentd's children and what they started) and removes every
    /// record. Must only be called by the holder of the state_dir lock. Never kills the
    /// caller's own group.
    std::vector<Killed> kill_leftovers();

    const std::filesystem::path& dir() const { return m_dir; }

private:
    std::filesystem::path m_dir;
};

}  // namespace agentd::sys
