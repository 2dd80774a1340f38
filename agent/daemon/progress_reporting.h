#pragma once
// Decorators that report each call a worker makes into the outside world to its Pulse (see
// daemon/liveness.h) with that call's own timeout: a process (compose, a credential helper), an
// HTTP request (registry, Docker Engine, health probes), a git operation, a wait of the health
// gate. wiring.cpp puts them between a worker's reconciler and the real implementations, so
// deploy/ knows nothing of the watchdog.

#include <string>
#include <vector>

#include <fmt/format.h>

#include "agent/daemon/liveness.h"
#include "agent/deploy/reconciler.h"
#include "agent/sources/git.h"
#include "agent/sys/clock.h"
#include "agent/sys/http.h"
#include "agent/sys/process.h"
#include "agent/sys/semaphore.h"
#include "agent/trust/git_verifier.h"

namespace agentd::daemon {

/// libgit2 1.5 has no timeout of its own (GIT_OPT_SET_SERVER_TIMEOUT came in 1.7): a fetch or
/// checkout that takes longer than this is taken as hung.
inline constexpr sys::Duration k_git_step_allowance = std::chrono::minutes(30);

/// "docker-compose -p shop up -d": the program and its arguments, shortened (never the
/// environment or stdin, where secrets go).
std::string describe_process(const sys::ProcessSpec& spec);
/// "GET http://127.0.0.1:5000/v2/app/manifests/1.0": without the query string (it may hold a
/// token) or a userinfo part.
std::string describe_request(const sys::HttpRequest& request);

class ReportingProcessRunner final : public sys::ProcessRunner {
public:
    ReportingProcessRunner(sys::ProcessRunner& inner, Pulse pulse)
        : m_inner(inner), m_pulse(pulse) {}
    sys::Result<sys::ProcessResult> run(const sys::ProcessSpec& spec) override {
        Pulse::Step step(m_pulse, describe_process(spec), spec.timeout);
        return m_inner.run(spec);
    }

private:
    sys::ProcessRunner& m_inner;
    Pulse m_pulse;
};

class ReportingHttpClient final : public sys::HttpClient {
public:
    ReportingHttpClient(sys::HttpClient& inner, Pulse pulse) : m_inner(inner), m_pulse(pulse) {}
    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        Pulse::Step step(m_pulse, describe_request(request), request.timeout);
        return m_inner.send(request);
    }
    std::vector<sys::Result<sys::HttpResponse>> send_all(
        const std::vector<sys::HttpRequest>& requests, const sys::HostLimit& limit) override {
        if (requests.empty()) {
            return {};
        }
        Pulse::Step step(m_pulse,
                         requests.size() == 1
                             ? describe_request(requests.front())
                             : fmt::format("{} and {} more requests",
                                           describe_request(requests.front()), requests.size() - 1),
                         sys::longest_send_all(requests, limit));
        return m_inner.send_all(requests, limit);
    }

private:
    sys::HttpClient& m_inner;
    Pulse m_pulse;
};

class ReportingClock final : public sys::Clock {
public:
    ReportingClock(sys::Clock& inner, Pulse pulse) : m_inner(inner), m_pulse(pulse) {}
    sys::TimePoint now() override { return m_inner.now(); }
    void sleep_for(sys::Duration d) override {
        Pulse::Step step(m_pulse, "waiting", d);
        m_inner.sleep_for(d);
    }

private:
    sys::Clock& m_inner;
    Pulse m_pulse;
};

/// The host's bound on deployments at once, as one worker sees it. Its wait is a step the
/// watchdog never calls stuck: it lasts as long as other workers' deployments, whose own steps
/// are watched.
class ReportingDeployLimit final : public deploy::DeployLimit {
public:
    ReportingDeployLimit(sys::Semaphore& places, const std::atomic<bool>& stop, Pulse pulse)
        : m_places(places), m_stop(stop), m_pulse(pulse) {}
    std::size_t most() const override { return m_places.count(); }
    bool try_acquire() override { return m_places.try_acquire(); }
    bool acquire() override {
        Pulse::Step step(m_pulse, "waiting for a deployment's turn", std::chrono::hours(24 * 365));
        return m_places.acquire(m_stop);
    }
    void release() override { m_places.release(); }

private:
    sys::Semaphore& m_places;
    const std::atomic<bool>& m_stop;
    Pulse m_pulse;
};

class ReportingGitSource final : public sources::GitSource {
public:
    ReportingGitSource(sources::GitSource& inner, Pulse pulse) : m_inner(inner), m_pulse(pulse) {}
    sys::Result<std::string> fetch(const config::GitSource& source,
                                   sources::AskedAt asked) override {
        // Not the URL: it may carry credentials.
        Pulse::Step step(m_pulse, "git fetch", k_git_step_allowance);
        return m_inner.fetch(source, asked);
    }
    sys::Result<void> checkout(const config::GitSource& source, const std::string& revision,
                               const std::filesystem::path& workdir) override {
        Pulse::Step step(m_pulse, "git checkout " + revision, k_git_step_allowance);
        return m_inner.checkout(source, revision, workdir);
    }
    sys::Result<std::vector<sources::GitTag>> tags(const config::GitSource& source,
                                                   sources::AskedAt asked) override {
        Pulse::Step step(m_pulse, "git fetch tags", k_git_step_allowance);
        return m_inner.tags(source, asked);
    }
    sys::Result<std::set<std::string>> changed_paths(
        const config::GitSource& source, const std::string& from, const std::string& to,
        const std::vector<std::string>& paths) override {
        Pulse::Step step(m_pulse, "git compare " + from + ".." + to, k_git_step_allowance);
        return m_inner.changed_paths(source, from, to, paths);
    }
    sys::Result<sys::TimePoint> commit_time(const config::GitSource& source,
                                            const std::string& revision) override {
        Pulse::Step step(m_pulse, "git read commit " + revision, k_git_step_allowance);
        return m_inner.commit_time(source, revision);
    }

private:
    sources::GitSource& m_inner;
    Pulse m_pulse;
};

/// Signature checks read the mirror under its lock (which waits for another worker's fetch) and
/// run ssh-keygen (reported by the process runner beneath) or gpg through gpgme, which has no
/// timeout of its own: the git allowance covers both.
class ReportingGitVerifier final : public trust::GitVerifier {
public:
    ReportingGitVerifier(trust::GitVerifier& inner, Pulse pulse) : m_inner(inner), m_pulse(pulse) {}
    sys::Result<trust::GitSignature> verify_tag(const config::GitSource& source,
                                                const std::string& tag,
                                                const std::string& commit) override {
        Pulse::Step step(m_pulse, "git verify tag " + tag, k_git_step_allowance);
        return m_inner.verify_tag(source, tag, commit);
    }
    sys::Result<trust::GitSignature> verify_commit(const config::GitSource& source,
                                                   const std::string& commit) override {
        Pulse::Step step(m_pulse, "git verify commit " + commit, k_git_step_allowance);
        return m_inner.verify_commit(source, commit);
    }

private:
    trust::GitVerifier& m_inner;
    Pulse m_pulse;
};

}  // namespace agentd::daemon
