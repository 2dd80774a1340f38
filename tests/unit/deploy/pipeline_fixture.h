#pragma once
// The pipeline over the recording fakes: a stack "shop" at shop/ of a deploy repository, a
// temporary state_dir, and helpers shared by the reconciler's test files.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/deploy/reconciler.h"
#include "tests/fakes/fakes.h"

namespace agentd::testing {

inline const std::string k_web = "127.0.0.1:5000/acme/web";

inline std::string digest(char c) {
    return "sha256:" + std::string(64, c);
}

/// Records what the pipeline tells its observer, as "observed shop ok 0s", "gated shop passed
/// 5s", "finished 1 succeeded 7s" (durations on the fake clock, whole seconds).
struct RecordingObserver final : deploy::CycleObserver {
    std::vector<std::string> calls;
    static long secs(sys::Duration d) {
        return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
    }
    void observed(const std::string& stack, sys::Duration took, bool ok) override {
        calls.push_back("observed " + stack + (ok ? " ok " : " error ") +
                        std::to_string(secs(took)) + "s");
    }
    void gated(const std::string& stack, const deploy::GateResult& result,
               sys::Duration took) override {
        calls.push_back("gated " + stack + (result.passed() ? " passed " : " failed ") +
                        std::to_string(secs(took)) + "s");
    }
    void finished(const model::Deployment& d) override {
        calls.push_back("finished " + std::to_string(d.id) + " " + model::to_string(d.status) +
                        " " +
                        std::to_string(secs(std::chrono::duration_cast<sys::Duration>(
                            d.finished_at.value_or(d.started_at) - d.started_at))) +
                        "s");
    }
    /// Live progress, apart from `calls`: "phase 1 pull", "pull 1 IMAGE 50/100 0/1",
    /// "gate 1 sample 2 good".
    std::vector<std::string> progress;
    void recorded(const model::Deployment& d, const model::Event& e) override {
        progress.push_back("phase " + std::to_string(d.id) + " " + e.phase);
    }
    void pulling(const model::Deployment& d, const runtime::PullProgress& p) override {
        progress.push_back("pull " + std::to_string(d.id) + " " + p.reference + " " +
                           std::to_string(p.current) + "/" + std::to_string(p.total) + " " +
                           std::to_string(p.layers_done) + "/" + std::to_string(p.layers) +
                           (p.done ? " done" : ""));
    }
    void gate_sample(const model::Deployment& d, const deploy::GateSample& s) override {
        progress.push_back("gate " + std::to_string(d.id) + " sample " + std::to_string(s.number) +
                           (s.verdict.good() ? " good" : " not good") + " " +
                           std::to_string(s.containers.size()) + " containers");
    }
};

struct PipelineFixture {
    std::filesystem::path dir;
    fakes::FakeClock clock;
    fakes::FakeGit git;
    fakes::FakeGitVerifier signatures;
    fakes::FakeRegistry registry;
    fakes::FakeEngine engine;
    fakes::FakeCompose compose{engine};
    fakes::MemoryStore store;
    fakes::FakeHttp http;
    fakes::FakeVerifier verifier;
    std::atomic<bool> stop{false};
    RecordingObserver observer;
    deploy::Reconciler reconciler;
    config::Stack stack;

    /// `fleet`: the coordinator of a host in a fleet (null: no `fleet:`); `limit`: the host's
    /// bound on deployments at once (null: none).
    explicit PipelineFixture(fleet::Coordinator* fleet = nullptr,
                             deploy::DeployLimit* limit = nullptr)
        : dir(std::filesystem::temp_directory_path() /
              ("agentd-pipeline-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter()++))),
          reconciler(deploy::Services{git,
                                      signatures,
                                      registry,
                                      engine,
                                      compose,
                                      store,
                                      clock,
                                      http,
                                      verifier,
                                      {},
                                      &observer,
                                      nullptr,
                                      fleet,
                                      limit},
                     dir, stop) {
        std::filesystem::create_directories(dir);
        stack.name = "shop";
        stack.git = config::GitSource{"file:///srv/deploy.git", "shop", "main", {}};
        stack.health.timeout = std::chrono::seconds(30);
        stack.health.stable = std::chrono::seconds(5);
        registry.digests["acme/web:latest"] = digest('1');
    }
    ~PipelineFixture() { std::filesystem::remove_all(dir); }
    PipelineFixture(const PipelineFixture&) = delete;
    PipelineFixture& operator=(const PipelineFixture&) = delete;

    /// A new release: the branch head is `revision` 40 times, acme/web:latest has digest(image).
    void release(char revision, char image) {
        git.head = std::string(40, revision);
        registry.digests["acme/web:latest"] = digest(image);
    }
    deploy::CycleResult poll() { return reconciler.reconcile(stack, model::Trigger::Poll); }
    model::Deployment get(std::int64_t id) { return *store.deployment(id, true); }

    static int& counter() {
        static int n = 0;
        return n;
    }
};

/// True when `d` has an event of `phase` whose message contains `text`.
inline bool has_event(const model::Deployment& d, const std::string& phase,
                      const std::string& text) {
    for (const auto& e : d.events) {
        if (e.phase == phase && e.message.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace agentd::testing
