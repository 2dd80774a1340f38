#include "agent/sys/process_groups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "agent/sys/files.h"

namespace agentd::sys {
namespace {

template <class T>
bool parse_number(std::string_view text, T& out) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

/// Every live process in /proc.
std::vector<ProcessStat> all_processes() {
    std::vector<ProcessStat> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        pid_t pid = 0;
        if (!parse_number(entry.path().filename().string(), pid)) {
            continue;
        }
        if (auto stat = read_proc_stat(pid)) {
            out.push_back(*stat);
        }
    }
    return out;
}

}  // namespace

std::optional<ProcessStat> parse_proc_stat(const std::string& text) {
    // "PID (COMM) STATE PPID PGRP SESSION ... STARTTIME(22) ...": COMM is anything, so the fields
    // start after the last ')'.
    const auto open = text.find(" (");
    const auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) {
        return std::nullopt;
    }
    ProcessStat stat;
    if (!parse_number(std::string_view(text).substr(0, open), stat.pid)) {
        return std::nullopt;
    }
    std::istringstream fields(text.substr(close + 1));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    std::string field;
    while (f.size() < 20 && fields >> field) {
        f.push_back(field);
    }
    if (f.size() < 20 || f[0].size() != 1 || !parse_number(f[2], stat.pgid) ||
        !parse_number(f[3], stat.session) || !parse_number(f[19], stat.start_time)) {
        return std::nullopt;
    }
    stat.state = f[0][0];
    return stat;
}

std::optional<ProcessStat> read_proc_stat(pid_t pid) {
    auto text = read_file(fmt::format("/proc/{}/stat", pid));
    if (!text) {
        return std::nullopt;
    }
    return parse_proc_stat(*text);
}

std::string record_name(const GroupRecord& record) {
    return fmt::format("{}.{}.{}", record.pgid, record.start_time, record.session);
}

std::optional<GroupRecord> parse_record_name(const std::string& name) {
    const auto first = name.find('.');
    const auto second = first == std::string::npos ? first : name.find('.', first + 1);
    if (second == std::string::npos) {
        return std::nullopt;
    }
    GroupRecord record;
    const std::string_view view(name);
    if (!parse_number(view.substr(0, first), record.pgid) ||
        !parse_number(view.substr(first + 1, second - first - 1), record.start_time) ||
        !parse_number(view.substr(second + 1), record.session) || record.pgid <= 1) {
        return std::nullopt;
    }
    return record;
}

bool belongs_to(const ProcessStat& process, const GroupRecord& record) {
    return process.state != 'Z' && process.pgid == record.pgid &&
           process.session == record.session && process.start_time >= record.start_time;
}

ProcessGroups::ProcessGroups(std::filesystem::path dir) : m_dir(std::move(dir)) {}

Result<void> ProcessGroups::add(pid_t leader) {
    const auto stat = read_proc_stat(leader);
    if (!stat) {
        return {};  // already gone: nothing can be left over
    }
    if (::mkdir(m_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return Error::failed(fmt::format("{}: {}", m_dir.string(), std::strerror(errno)));
    }
    const GroupRecord record{leader, stat->start_time, stat->session};
    const auto path = m_dir / record_name(record);
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return Error::failed(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    }
    ::close(fd);
    return {};
}

void ProcessGroups::remove(pid_t leader) {
    std::error_code ec;
    const std::string prefix = fmt::format("{}.", leader);
    for (const auto& entry : std::filesystem::directory_iterator(m_dir, ec)) {
        const auto name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0) {
            std::filesystem::remove(entry.path(), ec);
        }
    }
}

std::vector<ProcessGroups::Killed> ProcessGroups::kill_leftovers() {
    std::vector<Killed> killed;
    std::error_code ec;
    std::vector<std::filesystem::path> records;
    for (const auto& entry : std::filesystem::directory_iterator(m_dir, ec)) {
        records.push_back(entry.path());
    }
    if (records.empty()) {
        return killed;
    }
    const auto processes = all_processes();
    const pid_t own_group = ::getpgrp();
    for (const auto& path : records) {
        const auto record = parse_record_name(path.filename().string());
        if (record && record->pgid != own_group) {
            Killed group{*record, {}};
            for (const auto& p : processes) {
                if (belongs_to(p, *record)) {
                    group.members.push_back(p.pid);
                }
            }
            if (!group.members.empty()) {
                ::kill(-record->pgid, SIGKILL);
                killed.push_back(std::move(group));
            }
        }
        std::filesystem::remove(path, ec);
    }
    return killed;
}

}  // namespace agentd::sys
