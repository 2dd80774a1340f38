#include "agent/sys/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace agentd::sys {

namespace {

// Output beyond this is dropped: a runaway child must not exhaust the daemon's memory.
constexpr std::size_t k_max_output = 16 * 1024 * 1024;
constexpr int k_read_chunk = 64 * 1024;

/// Closes a file descriptor once, when it goes out of scope or on reset().
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }
    void reset(int fd) {
        reset();
        m_fd = fd;
    }
    void reset() {
        if (m_fd >= 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }

private:
    int m_fd = -1;
};

/// A pipe whose ends are close-on-exec, so concurrently spawned programs do not inherit them
/// (the child gets its end through dup2, which clears the flag).
bool make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return false;
    }
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    return true;
}

/// The inherited environment with `extra` merged over it, as KEY=VALUE strings.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        const auto eq = entry.find('=');
        const std::string key(entry.substr(0, eq));
        if (!extra.contains(key)) {
            out.emplace_back(entry);
        }
    }
    for (const auto& [key, value] : extra) {
        out.push_back(key + "=" + value);
    }
    return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

bool is_executable_file(const std::filesystem::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

/// Writes to the child's stdin without letting SIGPIPE (child closed its stdin) kill us: the
/// signal is blocked in this thread during the write and a pending one is consumed.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_set;
    sigset_t old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    const ssize_t n = ::write(fd, data, size);
    const int saved = errno;
    if (n < 0 && saved == EPIPE) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe_set, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
    errno = saved;
    return n;
}

/// Reads what is available on `fd` into `out`; false at end of file or on error.
bool drain(int fd, std::string& out) {
    char buf[k_read_chunk];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
        return errno == EINTR || errno == EAGAIN;
    }
    if (n == 0) {
        return false;
    }
    const auto room = k_max_output - std::min(out.size(), k_max_output);
    out.append(buf, std::min(static_cast<std::size_t>(n), room));
    return true;
}

/// Takes whatever is already in the pipe without blocking, then closes it.
void drain_available(Fd& fd, std::string& out) {
    while (fd.get() >= 0) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || !drain(fd.get(), out)) {
            break;
        }
    }
    fd.reset();
}

/// What the child does between fork and exec, all prepared before fork: after fork only
/// async-signal-safe calls are allowed (other threads may hold malloc's locks).
struct ChildSetup {
    const char* program = nullptr;
    char** argv = nullptr;
    char** envp = nullptr;
    const char* cwd = nullptr;  ///< nullptr: the caller's
    int stdin_fd = -1;          ///< -1: /dev/null
    int stdout_fd = -1;
    int stderr_fd = -1;
};

struct Started {
    pid_t pid = -1;
    int errno_value = 0;
    explicit operator bool() const { return pid > 0; }
    int error() const { return errno_value; }
};

/// Makes `fd` the child's descriptor `target` (without close-on-exec). In the child only.
bool install_fd(int fd, int target) {
    if (fd == target) {
        const int flags = ::fcntl(fd, F_GETFD);
        return flags >= 0 && ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0;
    }
    return ::dup2(fd, target) == target;
}

/// In the child: tells the parent errno through `report`, and exits.
[[noreturn]] void child_failed(int report) {
    const int error = errno;
    (void)!::write(report, &error, sizeof error);
    ::_exit(127);
}

/// In the child, after fork: never returns. Reports errno through `report` when exec fails.
[[noreturn]] void become_child(const ChildSetup& setup, pid_t parent, int report) {
    const auto fail = [report]() { child_failed(report); };
    // Its own process group, so that a timeout kills what it started too, and the next agentd
    // can find what it left (sys/process_groups.h).
    if (::setpgid(0, 0) != 0) {
        fail();
    }
    // Dies with agentd: SIGKILL, because the child cannot ignore it and a compose interrupted
    // with SIGTERM may start undoing the half-applied change (v2 stops containers it started)
    // while the next agentd is already applying it again; recovery re-applies from the start.
    // The signal comes when the *thread* that forked dies; PosixProcessRunner::run waits for
    // the child in that thread, so the thread outlives it unless agentd dies.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fail();
    }
    // agentd died between fork and prctl: the signal will never come.
    if (::getppid() != parent) {
        ::_exit(127);
    }
    // An empty signal mask and default dispositions, whatever the daemon blocked or ignored.
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT}) {
        ::signal(sig, SIG_DFL);
    }
    sigset_t empty_set;
    sigemptyset(&empty_set);
    ::sigprocmask(SIG_SETMASK, &empty_set, nullptr);
    if (setup.stdin_fd >= 0) {
        if (!install_fd(setup.stdin_fd, STDIN_FILENO)) {
            fail();
        }
    } else {
        const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || !install_fd(null_fd, STDIN_FILENO)) {
            fail();
        }
    }
    if (!install_fd(setup.stdout_fd, STDOUT_FILENO) ||
        !install_fd(setup.stderr_fd, STDERR_FILENO)) {
        fail();
    }
    if (setup.cwd != nullptr && ::chdir(setup.cwd) != 0) {
        fail();
    }
    ::execve(setup.program, setup.argv, setup.envp);
    child_failed(report);
}

/// fork + exec with the setup above. posix_spawn cannot set PR_SET_PDEATHSIG in the child, so
/// this is the small fork path it would otherwise be: every descriptor agentd opens is
/// close-on-exec, argv only, and exec failures come back through a close-on-exec pipe (EOF
/// means exec succeeded).
Started start_child(const ChildSetup& setup) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        return {-1, errno};
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        ::close(report[0]);
        ::close(report[1]);
        return {-1, error};
    }
    if (pid == 0) {
        ::close(report[0]);
        become_child(setup, parent, report[1]);
    }
    ::close(report[1]);
    // Set the group from this side too, so that it exists before run() can kill it.
    ::setpgid(pid, pid);
    int child_error = 0;
    ssize_t n = 0;
    do {
        n = ::read(report[0], &child_error, sizeof child_error);
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    if (n == static_cast<ssize_t>(sizeof child_error)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return {-1, child_error};
    }
    return {pid, 0};
}

}  // namespace

std::optional<std::filesystem::path> find_program(const std::string& program) {
    if (program.empty()) {
        return std::nullopt;
    }
    if (program.find('/') != std::string::npos) {
        return is_executable_file(program) ? std::optional<std::filesystem::path>(program)
                                           : std::nullopt;
    }
    const char* path_env = std::getenv("PATH");
    const std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find(':', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        const std::string dir = end > start ? path.substr(start, end - start) : ".";
        const auto candidate = std::filesystem::path(dir) / program;
        if (is_executable_file(candidate)) {
            return candidate;
        }
        start = end + 1;
    }
    return std::nullopt;
}

Result<ProcessResult> PosixProcessRunner::run(const ProcessSpec& spec) {
    if (spec.argv.empty()) {
        return Error::invalid("run: empty argument vector");
    }
    for (const auto& [key, value] : spec.env) {
        if (key.empty() || key.find('=') != std::string::npos ||
            key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
            // Only the name: values may be secrets.
            return Error::invalid(
                fmt::format("{}: invalid environment variable name \"{}\"", spec.argv[0], key));
        }
    }
    const auto program = find_program(spec.argv[0]);
    if (!program) {
        return Error::not_found(fmt::format("{}: program not found", spec.argv[0]));
    }
    if (!spec.cwd.empty() && !std::filesystem::is_directory(spec.cwd)) {
        return Error::failed(fmt::format("{}: working directory {} does not exist", spec.argv[0],
                                         spec.cwd.string()));
    }

    Fd in_read, in_write, out_read, out_write, err_read, err_write;
    if ((spec.stdin_data && !make_pipe(in_read, in_write)) || !make_pipe(out_read, out_write) ||
        !make_pipe(err_read, err_write)) {
        return Error::failed(fmt::format("{}: pipe: {}", spec.argv[0], std::strerror(errno)));
    }

    std::vector<std::string> argv_strings = spec.argv;
    std::vector<std::string> env_strings = merged_environment(spec.env);
    auto argv = c_strings(argv_strings);
    auto envp = c_strings(env_strings);
    ChildSetup setup;
    setup.program = program->c_str();
    setup.argv = argv.data();
    setup.envp = envp.data();
    setup.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
    setup.stdin_fd = spec.stdin_data ? in_read.get() : -1;
    setup.stdout_fd = out_write.get();
    setup.stderr_fd = err_write.get();

    auto started = start_child(setup);
    if (!started) {
        const int error = started.error();
        if (error == ENOENT) {
            return Error::not_found(fmt::format("{}: program not found", spec.argv[0]));
        }
        return Error::failed(fmt::format("{}: {}", spec.argv[0], std::strerror(error)));
    }
    const pid_t pid = started.pid;
    if (m_groups) {
        if (auto recorded = m_groups->add(pid); !recorded) {
            // The child runs anyway: it still dies with agentd, only what it starts may not.
            spdlog::warn("{}: process group not recorded: {}", spec.argv[0],
                         recorded.error().message);
        }
    }
    in_read.reset();
    out_write.reset();
    err_write.reset();

    ProcessResult result;
    const std::string& input = spec.stdin_data ? *spec.stdin_data : std::string();
    std::size_t written = 0;
    if (spec.stdin_data) {
        ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
        if (input.empty()) {
            in_write.reset();
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + spec.timeout;
    int status = 0;
    bool reaped = false;
    // Until the child is reaped or the deadline passes: move data through the pipes, and
    // check for the child's exit whenever nothing is moving (it may have closed its pipes
    // early, or left descendants holding them open).
    while (!reaped) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        const bool pipes_open = out_read.get() >= 0 || err_read.get() >= 0 || in_write.get() >= 0;
        pollfd fds[3] = {
            {out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
        // With pipes open, wake up every 100ms to notice an exit; without, check every 10ms.
        const int wait_ms =
            static_cast<int>(std::min<long long>(left.count(), pipes_open ? 100 : 10));
        const int ready = pipes_open ? ::poll(fds, 3, wait_ms) : 0;
        if (ready > 0) {
            if (fds[0].revents != 0 && !drain(out_read.get(), result.out)) {
                out_read.reset();
            }
            if (fds[1].revents != 0 && !drain(err_read.get(), result.err)) {
                err_read.reset();
            }
            if (fds[2].revents & (POLLERR | POLLHUP)) {
                in_write.reset();
            } else if (fds[2].revents & POLLOUT) {
                const ssize_t n = write_no_sigpipe(in_write.get(), input.data() + written,
                                                   input.size() - written);
                if (n > 0) {
                    written += static_cast<std::size_t>(n);
                }
                if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
                    in_write.reset();
                }
            }
            continue;
        }
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            // The child is gone: what it wrote is in the pipes already; take it and stop
            // waiting for descendants that inherited them.
            reaped = true;
            drain_available(out_read, result.out);
            drain_available(err_read, result.err);
            break;
        }
        if (!pipes_open) {
            ::poll(nullptr, 0, wait_ms);
        }
    }
    if (result.timed_out) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
    }
    if (!reaped) {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (m_groups) {
        m_groups->remove(pid);
    }
    if (!result.timed_out && WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    }
    return result;
}

std::string output_tail(const std::string& text) {
    constexpr std::size_t k_lines = 10;
    constexpr std::size_t k_chars = 2000;
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        auto line = text.substr(start, end - start);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
            line.pop_back();
        }
        if (!line.empty()) {
            lines.push_back(line);
        }
        start = end + 1;
    }
    const auto first = lines.size() > k_lines ? lines.size() - k_lines : 0;
    std::string out;
    for (auto i = first; i < lines.size(); ++i) {
        out += (out.empty() ? "" : "\n") + lines[i];
    }
    if (out.size() > k_chars) {
        out = "..." + out.substr(out.size() - k_chars);
    }
    return out;
}

bool exited(const ProcessResult& r) {
    return !r.timed_out && r.exit_code >= 0;
}

std::string describe_exit(const ProcessResult& r) {
    if (r.timed_out) {
        return "timed out";
    }
    if (r.exit_code < 0) {
        return "killed by a signal";
    }
    const auto err = output_tail(r.err);
    const auto detail = err.empty() ? output_tail(r.out) : err;
    return fmt::format("exit {}{}{}", r.exit_code, detail.empty() ? "" : ": ", detail);
}

}  // namespace agentd::sys
