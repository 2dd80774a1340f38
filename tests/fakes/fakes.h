#pragma once
// Recording fakes of every side-effect interface deploy/ uses (unit tests only).

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/runtime/compose.h"
#include "agent/runtime/engine.h"
#include "agent/sources/git.h"
#include "agent/sources/registry.h"
#include "agent/state/store.h"
#include "agent/sys/clock.h"
#include "agent/sys/http.h"
#include "agent/trust/git_verifier.h"
#include "agent/trust/image_verifier.h"

namespace agentd::fakes {

class FakeClock final : public sys::Clock {
public:
    sys::TimePoint now() override { return m_now; }
    void sleep_for(sys::Duration d) override {
        m_now += d;
        ++sleeps;
    }
    void advance(sys::Duration d) { m_now += d; }
    int sleeps = 0;

private:
    sys::TimePoint m_now = std::chrono::system_clock::from_time_t(1'790'000'000);
};

/// A remote whose branch head the test sets; records fetches and checkouts.
class FakeGit final : public sources::GitSource {
public:
    sys::Result<std::string> fetch(const config::GitSource&, sources::AskedAt asked) override {
        ++fetches;
        last_asked = asked;
        if (!fail.empty()) {
            return sys::Error::failed(fail);
        }
        return head;
    }
    sys::Result<void> checkout(const config::GitSource&, const std::string& revision,
                               const std::filesystem::path& workdir) override {
        checkouts.push_back({revision, workdir});
        return {};
    }
    sys::Result<std::vector<sources::GitTag>> tags(const config::GitSource&,
                                                   sources::AskedAt asked) override {
        last_asked = asked;
        return tag_list;
    }
    /// `commit_times` by revision; NotFound for one not in it.
    sys::Result<sys::TimePoint> commit_time(const config::GitSource&,
                                            const std::string& revision) override {
        ++commit_time_reads;
        const auto it = commit_times.find(revision);
        if (it == commit_times.end()) {
            return sys::Error::not_found("revision " + revision + " not in the fake mirror");
        }
        return it->second;
    }
    /// A path changed when a changed file is it, lies below it, or it is the root ("").
    sys::Result<std::set<std::string>> changed_paths(
        const config::GitSource&, const std::string& from, const std::string& to,
        const std::vector<std::string>& paths) override {
        comparisons.push_back({from, to, paths});
        if (!compare_fails.empty()) {
            return sys::Error::failed(compare_fails);
        }
        std::set<std::string> out;
        const auto it = changes.find({from, to});
        const auto back = changes.find({to, from});
        const auto* files = it != changes.end()     ? &it->second
                            : back != changes.end() ? &back->second
                                                    : nullptr;
        for (const auto& path : paths) {
            if (files == nullptr) {
                if (from != to && all_change_when_unknown) {
                    out.insert(path);
                }
                continue;
            }
            for (const auto& file : *files) {
                if (path.empty() || file == path || file.rfind(path + "/", 0) == 0) {
                    out.insert(path);
                }
            }
        }
        return out;
    }
    struct Comparison {
        std::string from;
        std::string to;
        std::vector<std::string> paths;
    };
    std::vector<sources::GitTag> tag_list;
    /// (from, to) -> the files that differ (either order); pairs not listed: every path
    /// differs between different revisions (all_change_when_unknown) or none does.
    std::map<std::pair<std::string, std::string>, std::set<std::string>> changes;
    bool all_change_when_unknown = true;
    std::string compare_fails;
    std::vector<Comparison> comparisons;
    std::string head = std::string(40, 'a');
    std::string fail;
    int fetches = 0;
    /// What the last fetch() or tags() was told the poll was asked at.
    std::optional<sources::AskedAt> last_asked;
    std::vector<std::pair<std::string, std::filesystem::path>> checkouts;
    std::map<std::string, sys::TimePoint> commit_times;
    int commit_time_reads = 0;
};

/// Verifies every digest unless told otherwise; records each call.
class FakeVerifier final : public trust::ImageVerifier {
public:
    sys::Result<std::string> verify(const sources::ImageRef& image, const std::string& digest,
                                    const config::ImageVerify& policy) override {
        calls.push_back(image.familiar_name() + "@" + digest);
        const std::string key =
            policy.cosign && !policy.cosign->files.empty() ? policy.cosign->files[0].string() : "";
        if (const auto it = errors.find(digest); it != errors.end()) {
            return it->second;
        }
        return "signed by " + key;
    }
    std::map<std::string, sys::Error> errors;  ///< digest -> what verify answers
    std::vector<std::string> calls;            ///< "name@digest"
};

/// Tags -> digests the test sets; unknown tags are NotFound.
/// Signatures as the test declares them: `tags` and `commits` map a tag name or commit id to
/// its answer; anything not listed is "not signed" (InvalidInput). Records what was asked.
class FakeGitVerifier final : public trust::GitVerifier {
public:
    sys::Result<trust::GitSignature> verify_tag(const config::GitSource&, const std::string& tag,
                                                const std::string& commit) override {
        asked.push_back("tag " + tag + " " + commit);
        const auto it = tags.find(tag);
        return it != tags.end() ? it->second
                                : sys::Result<trust::GitSignature>(
                                      sys::Error::invalid("tag " + tag + ": not signed"));
    }
    sys::Result<trust::GitSignature> verify_commit(const config::GitSource&,
                                                   const std::string& commit) override {
        asked.push_back("commit " + commit);
        const auto it = commits.find(commit);
        return it != commits.end() ? it->second
                                   : sys::Result<trust::GitSignature>(sys::Error::invalid(
                                         "commit " + commit.substr(0, 12) + ": not signed"));
    }
    std::map<std::string, sys::Result<trust::GitSignature>> tags;
    std::map<std::string, sys::Result<trust::GitSignature>> commits;
    std::vector<std::string> asked;
};

class FakeRegistry final : public sources::Registry {
public:
    sys::Result<std::string> resolve_digest(const sources::ImageRef& ref) override {
        ++resolves;
        if (!fail.empty()) {
            return sys::Error::failed(fail);
        }
        if (ref.tag.empty() && !ref.digest.empty()) {
            // By digest alone: the registry has it when some tag of the repository points to it.
            for (const auto& [key, digest] : digests) {
                if (digest == ref.digest && key.rfind(ref.repository + ":", 0) == 0) {
                    return digest;
                }
            }
            return sys::Error::not_found("manifest " + ref.digest + " not found");
        }
        const auto it = digests.find(ref.repository + ":" + ref.tag);
        if (it == digests.end()) {
            return sys::Error::not_found("tag " + ref.tag + " not found");
        }
        return it->second;
    }
    sys::Result<std::vector<std::string>> list_tags(const sources::ImageRef& ref) override {
        ++listings;
        if (list_error) {
            return *list_error;
        }
        std::vector<std::string> out;
        for (const auto& [key, digest] : digests) {
            if (key.rfind(ref.repository + ":", 0) == 0) {
                out.push_back(key.substr(ref.repository.size() + 1));
            }
        }
        return out;
    }
    sys::Result<sources::Manifest> get_manifest(const sources::ImageRef& ref) override {
        ++manifest_gets;
        if (!fail.empty()) {
            return sys::Error::failed(fail);
        }
        const auto it = manifests.find(ref.repository +
                                       (ref.digest.empty() ? ":" + ref.tag : "@" + ref.digest));
        if (it == manifests.end()) {
            return sys::Error::not_found("manifest " + ref.tag + ref.digest + " not found");
        }
        return it->second;
    }
    sys::Result<std::string> get_blob(const sources::ImageRef&, const std::string& digest,
                                      std::size_t max_size) override {
        ++blob_gets;
        if (!fail.empty()) {
            return sys::Error::failed(fail);
        }
        const auto it = blobs.find(digest);
        if (it == blobs.end()) {
            return sys::Error::not_found("blob " + digest + " not found");
        }
        if (it->second.size() > max_size) {
            return sys::Error::failed("blob " + digest + " too large");
        }
        return it->second;
    }
    /// What `referrers_of` holds for "repo@digest" (none: an empty list), filtered by
    /// artifactType as the real client does.
    sys::Result<std::vector<sources::Referrer>> referrers(
        const sources::ImageRef& ref, const std::string& digest,
        const std::string& artifact_type) override {
        ++referrer_lookups;
        if (!fail.empty()) {
            return sys::Error::failed(fail);
        }
        std::vector<sources::Referrer> out;
        if (const auto it = referrers_of.find(ref.repository + "@" + digest);
            it != referrers_of.end()) {
            for (const auto& referrer : it->second) {
                if (artifact_type.empty() || referrer.artifact_type == artifact_type) {
                    out.push_back(referrer);
                }
            }
        }
        return out;
    }
    std::map<std::string, std::string> digests;  ///< "repo:tag" -> digest
    /// "repo:tag" or "repo@digest" -> what get_manifest answers.
    std::map<std::string, sources::Manifest> manifests;
    std::map<std::string, std::string> blobs;  ///< digest -> content
    /// "repo@digest" of a subject -> the artifacts referring to it.
    std::map<std::string, std::vector<sources::Referrer>> referrers_of;
    int manifest_gets = 0;
    int blob_gets = 0;
    int referrer_lookups = 0;
    std::string fail;
    std::optional<sys::Error> list_error;  ///< what list_tags answers instead of the tags
    int resolves = 0;
    int listings = 0;
};

/// How containers running an image behave in the fake engine.
enum class Behaviour { Healthy, Unhealthy, CrashLoop, NoHealthcheck, StartingForever };

/// Containers follow what FakeCompose last applied; each image behaves as the test says.
/// Its event stream (watch) hands out what `stream` holds at each read.
class FakeEngine final : public runtime::Engine {
public:
    class Watch final : public runtime::EngineWatch {
    public:
        explicit Watch(FakeEngine& engine) : m_engine(engine) {}
        runtime::EngineEvents read(sys::Duration wait) override {
            m_engine.reads.push_back(wait);
            auto out = m_engine.stream;
            m_engine.stream.events.clear();
            return out;
        }

    private:
        FakeEngine& m_engine;
    };
    sys::Result<void> pull(const std::string& reference,
                           const std::optional<runtime::RegistryCredentials>&,
                           const runtime::PullObserver& progress) override {
        pulls.push_back(reference);
        if (pull_fails) {
            return sys::Error::failed("pull failed");
        }
        local.insert(reference);
        if (progress) {
            // One layer of 100 bytes, half way and then done, as the Engine's stream reports.
            progress({reference, 50, 100, 1, 0, false});
            progress({reference, 100, 100, 1, 1, true});
        }
        return {};
    }
    sys::Result<bool> has_image(const std::string& reference) override {
        ++calls;
        return local.count(reference) > 0;
    }
    std::vector<std::string> removed;  ///< remove_container's ids
    sys::Result<void> remove_container(const std::string& id) override {
        ++calls;
        removed.push_back(id);
        std::erase_if(extra_containers,
                      [&](const runtime::ContainerState& c) { return c.id == id; });
        return {};
    }
    std::vector<std::string> stopped;  ///< stop_container's ids
    sys::Result<void> stop_container(const std::string& id, sys::Duration) override {
        ++calls;
        stopped.push_back(id);
        return {};
    }
    /// exec's calls; each is answered with the next of `exec_answers` (exit 0 when none is
    /// left).
    struct Exec {
        std::string id;
        std::vector<std::string> argv;
        sys::Duration timeout{};
    };
    std::vector<Exec> execs;
    std::vector<sys::Result<runtime::ExecResult>> exec_answers;
    sys::Result<runtime::ExecResult> exec(const std::string& id,
                                          const std::vector<std::string>& argv,
                                          sys::Duration timeout) override {
        ++calls;
        execs.push_back({id, argv, timeout});
        if (exec_answers.empty()) {
            return runtime::ExecResult{};
        }
        auto answer = exec_answers.front();
        exec_answers.erase(exec_answers.begin());
        return answer;
    }
    std::vector<std::pair<std::string, std::string>> signals;  ///< signal's (id, signal)
    /// What signal() does besides recording (e.g. signals a real process); nothing when empty.
    std::function<sys::Result<void>(const std::string& id, const std::string& signal)> on_signal;
    sys::Result<void> signal(const std::string& id, const std::string& signal) override {
        ++calls;
        signals.emplace_back(id, signal);
        return on_signal ? on_signal(id, signal) : sys::Result<void>();
    }
    std::map<std::string, int> pids;  ///< main_pid's answers by id; NotFound for others
    sys::Result<int> main_pid(const std::string& id) override {
        ++calls;
        const auto found = pids.find(id);
        if (found == pids.end()) {
            return sys::Error::not_found("no such container: " + id);
        }
        return found->second;
    }
    std::vector<std::string> networks;  ///< ensure_network's names
    sys::Result<void> ensure_network(const std::string& name) override {
        ++calls;
        networks.push_back(name);
        return {};
    }
    sys::Result<std::vector<runtime::ContainerState>> project_containers(
        const std::string& project) override {
        ++calls;
        ++samples;
        projects.insert(project);
        if (restart_at_sample == samples) {
            restart_engine(project);
        }
        std::vector<runtime::ContainerState> out;
        for (const auto& [service, image] : running) {
            runtime::ContainerState c;
            c.id = service + "@" + image;
            c.name = project + "_" + service + "_1";
            c.service = service;
            c.image = image;
            c.state = "running";
            c.restart_policy = "always";
            const auto b = behaviour.count(image) ? behaviour[image] : Behaviour::Healthy;
            const int age = samples - started_at[service];
            switch (b) {
                case Behaviour::Healthy:
                    c.health = age < 2 ? "starting" : "healthy";
                    break;
                case Behaviour::NoHealthcheck:
                    break;
                case Behaviour::StartingForever:
                    c.health = "starting";
                    break;
                case Behaviour::Unhealthy:
                    c.health = age < 2 ? "starting" : "unhealthy";
                    c.health_log = "wget: server returned error 500";
                    break;
                case Behaviour::CrashLoop:
                    c.restart_count = age / 2;  // running whenever sampled, restarting between
                    c.exit_code = 1;
                    break;
            }
            if (stopped_by_engine) {
                c.state = "exited";
                c.exit_code = 0;
            }
            out.push_back(c);
        }
        out.insert(out.end(), extra_containers.begin(), extra_containers.end());
        return out;
    }
    /// The running services (config hash "hash-SERVICE" unless `config_hashes` says other),
    /// then `extra_containers`; `listed` counts the calls.
    sys::Result<std::vector<runtime::ContainerSummary>> list_containers(
        const std::string& project) override {
        ++listed;
        projects.insert(project);
        std::vector<runtime::ContainerSummary> out;
        for (const auto& [service, image] : running) {
            if (gone.count(service) > 0) {
                continue;
            }
            runtime::ContainerSummary c;
            c.id = service + "@" + image;
            c.name = project + "_" + service + "_1";
            c.service = service;
            c.image = image;
            c.state = stopped_by_engine ? "exited" : "running";
            c.config_hash =
                config_hashes.count(service) ? config_hashes[service] : "hash-" + service;
            out.push_back(c);
        }
        for (const auto& e : extra_containers) {
            out.push_back(
                {e.id, e.name, e.service, e.image, e.state, "", e.one_off, e.exit_code, {}});
        }
        return out;
    }
    std::vector<std::string> removed_images;  ///< remove_image's references that were removed
    std::set<std::string> in_use;             ///< references remove_image finds in use
    sys::Result<runtime::ImageRemoval> remove_image(const std::string& reference) override {
        ++calls;
        if (in_use.count(reference) > 0) {
            return runtime::ImageRemoval::InUse;
        }
        if (local.erase(reference) == 0) {
            return runtime::ImageRemoval::Gone;
        }
        removed_images.push_back(reference);
        return runtime::ImageRemoval::Removed;
    }
    sys::Result<std::unique_ptr<runtime::EngineWatch>> watch(const std::string& project) override {
        ++watches;
        projects.insert(project);
        if (down > 0) {
            --down;
            return sys::Error::failed("connect: no such file or directory");
        }
        stream = {};
        return std::unique_ptr<runtime::EngineWatch>(std::make_unique<Watch>(*this));
    }
    /// What dockerd's restart does (seen on 20.10): it stops every container (kill with
    /// signal 15, then stop; they exit with code 0 here), its event stream ends, and it does
    /// not answer for `down_for` connection attempts. Containers stay exited until compose
    /// starts them again.
    void restart_engine(const std::string& project) {
        for (const auto& [service, image] : running) {
            const auto name = project + "_" + service + "_1";
            stream.events.push_back({"kill", name, service, false, "15"});
            stream.events.push_back({"stop", name, service, false, ""});
        }
        stream.ended = true;
        stopped_by_engine = true;
        down = down_for;
    }
    void run(const std::map<std::string, std::string>& pins) {
        stopped_by_engine = false;
        gone.clear();
        config_hashes.clear();
        for (const auto& [service, image] : pins) {
            if (running[service] != image) {
                started_at[service] = samples;
            }
            running[service] = image;
        }
    }

    std::map<std::string, Behaviour> behaviour;  ///< image ref@digest -> behaviour
    std::map<std::string, std::string> running;  ///< service -> image
    /// Listed as they are after the running services (e.g. a hook's one-off container).
    std::vector<runtime::ContainerState> extra_containers;
    std::map<std::string, int> started_at;
    /// Drift made by hand: services whose container was removed, config hashes changed.
    std::set<std::string> gone;
    std::map<std::string, std::string> config_hashes;
    /// Every project named to project_containers, list_containers and watch.
    std::set<std::string> projects;
    int listed = 0;
    std::set<std::string> local;
    std::vector<std::string> pulls;
    bool pull_fails = false;
    int samples = 0;
    int calls = 0;
    runtime::EngineEvents stream;      ///< what the open watch hands out at its next read
    std::vector<sys::Duration> reads;  ///< the wait of every read of a watch
    int watches = 0;                   ///< watch() calls
    int down = 0;                      ///< the next this many watch() calls fail
    int restart_at_sample = 0;         ///< restart_engine() at this sample (counted from 1)
    int down_for = 3;
    bool stopped_by_engine = false;
};

/// Services the test declares; `up` moves the fake engine's containers to the pins.
class FakeCompose final : public runtime::Compose {
public:
    explicit FakeCompose(FakeEngine& engine) : m_engine(engine) {}
    sys::Result<std::vector<runtime::ComposeService>> services(
        const runtime::ComposeProject& project) override {
        ++configs;
        projects.insert(project.name);
        last_env = project.env;
        if (!invalid.empty()) {
            return sys::Error::invalid(invalid);
        }
        if (config_killed) {
            return sys::Error::failed("compose config: killed by a signal");
        }
        return declared;
    }
    sys::Result<void> up(const runtime::ComposeProject& project,
                         const std::map<std::string, std::string>& pins,
                         const runtime::UpOptions& options = {}) override {
        ups.push_back(pins);
        up_options.push_back(options);
        projects.insert(project.name);
        last_env = project.env;
        last_override = project.override_file;
        if (up_fails) {
            return sys::Error::invalid("up failed");  // compose refused the release
        }
        if (up_killed) {
            up_killed = !up_killed_once;
            return sys::Error::failed("up: killed by a signal");
        }
        // As compose: services with a profile (hooks) are left to `run`.
        auto started = pins;
        for (const auto& s : declared) {
            if (!s.profiles.empty()) {
                started.erase(s.name);
            }
        }
        m_engine.run(started);
        return {};
    }
    sys::Result<std::string> run_once(const runtime::ComposeProject& project,
                                      const std::map<std::string, std::string>& pins,
                                      const std::string& service,
                                      sys::Duration timeout) override {
        runs.push_back(service);
        run_pins.push_back(pins);
        projects.insert(project.name);
        run_dirs.push_back(project.dir);
        run_timeouts.push_back(timeout);
        if (const auto fails = run_fails.find(service); fails != run_fails.end()) {
            return sys::Error::failed(fails->second);
        }
        return "output of " + service;
    }
    std::vector<runtime::ComposeService> declared;
    std::set<std::string> projects;  ///< every project's name services, up and run_once had
    std::vector<std::string> runs;  ///< run_once's services, in order
    std::vector<std::map<std::string, std::string>> run_pins;
    std::vector<std::filesystem::path> run_dirs;
    std::vector<sys::Duration> run_timeouts;
    std::map<std::string, std::string> run_fails;  ///< service -> run_once's error
    std::string invalid;          ///< compose refuses the files with this message
    bool config_killed = false;   ///< `config` is killed (transient)
    bool up_fails = false;        ///< compose refuses `up` (a verdict)
    bool up_killed = false;       ///< `up` is killed (transient)
    bool up_killed_once = false;  ///< ... only the next time
    int configs = 0;
    std::vector<std::map<std::string, std::string>> ups;
    std::vector<runtime::UpOptions> up_options;  ///< one per up, in order
    std::map<std::string, std::string> last_env;
    std::filesystem::path last_override;

private:
    FakeEngine& m_engine;
};

/// Answers every probe with `status` (or a connection error when `refuse`).
class FakeHttp final : public sys::HttpClient {
public:
    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        requests.push_back(request.url);
        if (refuse) {
            return sys::Error::failed("connection refused");
        }
        sys::HttpResponse r;
        r.status = status;
        return r;
    }
    long status = 200;
    bool refuse = false;
    std::vector<std::string> requests;
};

/// The Store contract in memory; safe to share between threads.
class MemoryStore final : public state::Store {
public:
    std::int64_t create_deployment(const model::Deployment& d) override {
        std::lock_guard lock(m_mutex);
        auto copy = d;
        copy.id = static_cast<std::int64_t>(m_deployments.size()) + 1;
        copy.events.clear();
        m_deployments.push_back(copy);
        return copy.id;
    }
    void update_deployment(const model::Deployment& d) override {
        std::lock_guard lock(m_mutex);
        auto& slot = m_deployments.at(static_cast<std::size_t>(d.id - 1));
        auto events = std::move(slot.events);
        slot = d;
        slot.events = std::move(events);
    }
    void add_event(std::int64_t id, const model::Event& e) override {
        std::lock_guard lock(m_mutex);
        m_deployments.at(static_cast<std::size_t>(id - 1)).events.push_back(e);
    }
    void record(const model::Deployment& d, const model::Event& e) override {
        update_deployment(d);
        add_event(d.id, e);
    }
    void promote(const model::Deployment& d, const model::Event& e,
                 const model::Event& superseded) override {
        {
            std::lock_guard lock(m_mutex);
            for (auto& other : m_deployments) {
                if (other.stack == d.stack && other.id != d.id &&
                    other.status == model::Status::Succeeded) {
                    other.status = model::Status::Superseded;
                    other.events.push_back(superseded);
                }
            }
        }
        record(d, e);
    }
    std::optional<model::Deployment> deployment(std::int64_t id, bool with_events) override {
        std::lock_guard lock(m_mutex);
        if (id < 1 || id > static_cast<std::int64_t>(m_deployments.size())) {
            return std::nullopt;
        }
        auto d = m_deployments[static_cast<std::size_t>(id - 1)];
        if (!with_events) {
            d.events.clear();
        }
        return d;
    }
    std::vector<model::Deployment> history(const std::string& stack, int limit) override {
        std::lock_guard lock(m_mutex);
        std::vector<model::Deployment> out;
        for (auto it = m_deployments.rbegin(); it != m_deployments.rend(); ++it) {
            if ((stack.empty() || it->stack == stack) && static_cast<int>(out.size()) < limit) {
                out.push_back(*it);
            }
        }
        return out;
    }
    std::optional<model::Deployment> current(const std::string& stack) override {
        std::lock_guard lock(m_mutex);
        return newest(stack, [](const auto& d) { return d.status == model::Status::Succeeded; });
    }
    std::vector<model::Deployment> unfinished(const std::string& stack) override {
        std::lock_guard lock(m_mutex);
        std::vector<model::Deployment> out;
        for (const auto& d : m_deployments) {
            if (d.stack == stack && d.status == model::Status::InProgress) {
                out.push_back(d);
            }
        }
        return out;
    }
    std::optional<model::Deployment> latest(const std::string& stack) override {
        std::lock_guard lock(m_mutex);
        return newest(stack, [](const auto&) { return true; });
    }
    model::StackState stack_state(const std::string& stack) override {
        std::lock_guard lock(m_mutex);
        auto it = m_states.find(stack);
        if (it == m_states.end()) {
            model::StackState s;
            s.stack = stack;
            return s;
        }
        return it->second;
    }
    void save_stack_state(const model::StackState& s) override {
        std::lock_guard lock(m_mutex);
        m_states[s.stack] = s;
    }
    void record_poll(const std::string& stack, const model::LastPoll& poll,
                     const std::string& candidate) override {
        std::lock_guard lock(m_mutex);
        auto s = stack_state(stack);
        s.last_poll = poll;
        s.candidate = candidate;
        m_states[stack] = s;
    }
    void set_control(const std::string& stack, bool paused,
                     std::optional<std::int64_t> pinned) override {
        std::lock_guard lock(m_mutex);
        auto s = stack_state(stack);
        s.paused = paused;
        s.pinned = pinned;
        m_states[stack] = s;
    }
    void mark_bad(const std::string& stack, const std::string& key, const std::string&) override {
        std::lock_guard lock(m_mutex);
        m_bad.insert(stack + "/" + key);
    }
    bool is_bad(const std::string& stack, const std::string& key) override {
        std::lock_guard lock(m_mutex);
        return m_bad.count(stack + "/" + key) > 0;
    }
    void clear_bad(const std::string& stack) override {
        std::lock_guard lock(m_mutex);
        std::erase_if(m_bad, [&](const auto& k) { return k.rfind(stack + "/", 0) == 0; });
    }
    void remember_pull(const std::string& stack, const std::string& reference) override {
        std::lock_guard lock(m_mutex);
        for (const auto& p : m_pulled) {
            if (p.stack == stack && p.reference == reference) {
                return;
            }
        }
        m_pulled.push_back({stack, reference});
    }
    std::vector<state::PulledImage> pulled_images() override {
        std::lock_guard lock(m_mutex);
        return m_pulled;
    }
    void forget_pull(const std::string& reference) override {
        std::lock_guard lock(m_mutex);
        std::erase_if(m_pulled, [&](const auto& p) { return p.reference == reference; });
    }
    void record_retention(const std::string& stack, int kept, int offline) override {
        std::lock_guard lock(m_mutex);
        auto s = stack_state(stack);
        s.kept_releases = kept;
        s.offline_releases = offline;
        m_states[stack] = s;
    }
    void record_slots(const std::string& stack, const model::Slots& slots) override {
        std::lock_guard lock(m_mutex);
        auto s = stack_state(stack);
        s.slots = slots;
        m_states[stack] = s;
    }
    std::vector<model::Deployment> all() {
        std::lock_guard lock(m_mutex);
        return m_deployments;
    }

private:
    template <class Pred>
    std::optional<model::Deployment> newest(const std::string& stack, Pred pred) {
        for (auto it = m_deployments.rbegin(); it != m_deployments.rend(); ++it) {
            if (it->stack == stack && pred(*it)) {
                return *it;
            }
        }
        return std::nullopt;
    }
    std::recursive_mutex m_mutex;
    std::vector<model::Deployment> m_deployments;
    std::map<std::string, model::StackState> m_states;
    std::set<std::string> m_bad;
    std::vector<state::PulledImage> m_pulled;
};

/// A second handle on one store (the daemon opens a store per thread).
class StoreHandle final : public state::Store {
public:
    explicit StoreHandle(state::Store& s) : m_s(s) {}
    std::int64_t create_deployment(const model::Deployment& d) override {
        return m_s.create_deployment(d);
    }
    void update_deployment(const model::Deployment& d) override { m_s.update_deployment(d); }
    void add_event(std::int64_t id, const model::Event& e) override { m_s.add_event(id, e); }
    void record(const model::Deployment& d, const model::Event& e) override { m_s.record(d, e); }
    void promote(const model::Deployment& d, const model::Event& e,
                 const model::Event& superseded) override {
        m_s.promote(d, e, superseded);
    }
    std::optional<model::Deployment> deployment(std::int64_t id, bool e) override {
        return m_s.deployment(id, e);
    }
    std::vector<model::Deployment> history(const std::string& s, int l) override {
        return m_s.history(s, l);
    }
    std::optional<model::Deployment> current(const std::string& s) override {
        return m_s.current(s);
    }
    std::vector<model::Deployment> unfinished(const std::string& s) override {
        return m_s.unfinished(s);
    }
    std::optional<model::Deployment> latest(const std::string& s) override { return m_s.latest(s); }
    model::StackState stack_state(const std::string& s) override { return m_s.stack_state(s); }
    void save_stack_state(const model::StackState& s) override { m_s.save_stack_state(s); }
    void record_poll(const std::string& s, const model::LastPoll& p,
                     const std::string& c) override {
        m_s.record_poll(s, p, c);
    }
    void set_control(const std::string& s, bool paused,
                     std::optional<std::int64_t> pinned) override {
        m_s.set_control(s, paused, pinned);
    }
    void mark_bad(const std::string& a, const std::string& b, const std::string& c) override {
        m_s.mark_bad(a, b, c);
    }
    bool is_bad(const std::string& a, const std::string& b) override { return m_s.is_bad(a, b); }
    void clear_bad(const std::string& s) override { m_s.clear_bad(s); }
    void remember_pull(const std::string& s, const std::string& r) override {
        m_s.remember_pull(s, r);
    }
    std::vector<state::PulledImage> pulled_images() override { return m_s.pulled_images(); }
    void forget_pull(const std::string& r) override { m_s.forget_pull(r); }
    void record_retention(const std::string& s, int kept, int offline) override {
        m_s.record_retention(s, kept, offline);
    }
    void record_slots(const std::string& s, const model::Slots& slots) override {
        m_s.record_slots(s, slots);
    }

private:
    state::Store& m_s;
};

}  // namespace agentd::fakes
