#include "agent/sys/process_groups.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace unit_sys_process_groups_test {

using namespace agentd::sys;

namespace {

/// A `sleep` in a process group of its own (as PosixProcessRunner's children are), reaped and
/// killed at the end of the test whatever happened.
struct GroupLeader {
    pid_t pid = -1;
    GroupLeader() {
        pid = ::fork();
        if (pid == 0) {
            ::setpgid(0, 0);
            ::execlp("sleep", "sleep", "600", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::setpgid(pid, pid);
    }
    ~GroupLeader() {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    /// Whether it was killed by SIGKILL (reaps it); waits up to 10 s.
    bool killed() {
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    bool alive() { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
};

struct RecordDir {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("agentd-groups-test-" + std::to_string(::getpid()));
    RecordDir() { std::filesystem::remove_all(dir); }
    ~RecordDir() { std::filesystem::remove_all(dir); }
    void plant(const GroupRecord& record) {
        std::filesystem::create_directories(dir);
        std::ofstream(dir / record_name(record)).flush();
    }
};

/// Waits until the leader's /proc entry shows it in its own group (setpgid done).
ProcessStat stat_of(const GroupLeader& leader) {
    for (int i = 0; i < 1000; ++i) {
        auto stat = read_proc_stat(leader.pid);
        if (stat && stat->pgid == leader.pid) {
            return *stat;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL("no process group for " << leader.pid);
    return {};
}

}  // namespace

TEST_CASE("process groups: /proc/PID/stat is parsed past a command with spaces and parens",
          "[sys][process]") {
    const std::string text =
        "4242 (a (b) c) S 1 4242 4100 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 987654 "
        "8192 100 18446744073709551615\n";
    const auto stat = parse_proc_stat(text);
    REQUIRE(stat);
    CHECK(stat->pid == 4242);
    CHECK(stat->state == 'S');
    CHECK(stat->pgid == 4242);
    CHECK(stat->session == 4100);
    CHECK(stat->start_time == 987654);
    CHECK_FALSE(parse_proc_stat("4242 (x) S 1 2"));
    CHECK_FALSE(parse_proc_stat("garbage"));
    const auto own = read_proc_stat(::getpid());
    REQUIRE(own);
    CHECK(own->pgid == ::getpgrp());
    CHECK(own->session == ::getsid(0));
}

TEST_CASE("process groups: record names round-trip and junk is not a record", "[sys][process]") {
    const GroupRecord record{1234, 5678, 91};
    CHECK(record_name(record) == "1234.5678.91");
    CHECK(parse_record_name("1234.5678.91") == record);
    CHECK_FALSE(parse_record_name("1234.5678"));
    CHECK_FALSE(parse_record_name("x.5678.91"));
    CHECK_FALSE(parse_record_name("1.5678.91"));  // never kill(-1)
    CHECK_FALSE(parse_record_name("0.5678.91"));
    CHECK_FALSE(parse_record_name(".tmp"));
}

TEST_CASE("process groups: a member must share group and session and not predate the leader",
          "[sys][process]") {
    const GroupRecord record{100, 5000, 42};
    ProcessStat p{.pid = 100, .pgid = 100, .session = 42, .start_time = 5000, .state = 'S'};
    CHECK(belongs_to(p, record));
    ProcessStat later = p;
    later.pid = 101;
    later.start_time = 6000;
    CHECK(belongs_to(later, record));
    ProcessStat earlier = p;
    earlier.start_time = 4999;  // a process that existed before our leader: not ours
    CHECK_FALSE(belongs_to(earlier, record));
    ProcessStat other_session = p;
    other_session.session = 43;
    CHECK_FALSE(belongs_to(other_session, record));
    ProcessStat other_group = p;
    other_group.pgid = 200;
    CHECK_FALSE(belongs_to(other_group, record));
    ProcessStat zombie = p;
    zombie.state = 'Z';
    CHECK_FALSE(belongs_to(zombie, record));
}

TEST_CASE("process groups: a recorded group still running is killed at start", "[sys][process]") {
    RecordDir records;
    GroupLeader leader;
    const auto stat = stat_of(leader);
    records.plant({leader.pid, stat.start_time, stat.session});
    ProcessGroups groups(records.dir);
    const auto killed = groups.kill_leftovers();
    REQUIRE(killed.size() == 1);
    CHECK(killed[0].group.pgid == leader.pid);
    CHECK(killed[0].members == std::vector<pid_t>{leader.pid});
    CHECK(leader.killed());
    CHECK(std::filesystem::is_empty(records.dir));
}

TEST_CASE("process groups: a reused group number is left alone, stale records are dropped",
          "[sys][process]") {
    RecordDir records;
    GroupLeader leader;
    const auto stat = stat_of(leader);
    // The record's leader started after this process: the number was reused since.
    records.plant({leader.pid, stat.start_time + 100, stat.session});
    // Another session.
    records.plant({leader.pid, stat.start_time, stat.session + 1});
    // A group that is gone entirely.
    records.plant({999999, 1, stat.session});
    // Our own group, whatever the record says.
    records.plant({::getpgrp(), 0, ::getsid(0)});
    ProcessGroups groups(records.dir);
    CHECK(groups.kill_leftovers().empty());
    CHECK(leader.alive());
    CHECK(std::filesystem::is_empty(records.dir));
}

TEST_CASE("process groups: add records the running child, remove forgets it", "[sys][process]") {
    RecordDir records;
    GroupLeader leader;
    const auto stat = stat_of(leader);
    ProcessGroups groups(records.dir);
    REQUIRE(groups.add(leader.pid).ok());
    CHECK(std::filesystem::exists(records.dir /
                                  record_name({leader.pid, stat.start_time, stat.session})));
    groups.remove(leader.pid);
    CHECK(std::filesystem::is_empty(records.dir));
}

}  // namespace unit_sys_process_groups_test
