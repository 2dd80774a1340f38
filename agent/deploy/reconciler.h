#pragma once
// The reconcile pipeline of SPEC section 1 for one stack:
// observe -> plan -> verify -> pull -> apply -> gate -> promote or roll back -> record.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/deploy/cycle_observer.h"
#include "agent/deploy/health_gate.h"
#include "agent/deploy/inputs.h"
#include "agent/deploy/reconciler_steps.h"
#include "agent/deploy/release_age.h"
#include "agent/fleet/coordinator.h"
#include "agent/model/deployment.h"
#include "agent/runtime/compose.h"
#include "agent/runtime/engine.h"
#include "agent/runtime/proxy.h"
#include "agent/sources/git.h"
#include "agent/sources/registry.h"
#include "agent/state/store.h"
#include "agent/sys/clock.h"
#include "agent/sys/http.h"
#include "agent/trust/git_verifier.h"
#include "agent/trust/image_verifier.h"

namespace agentd::deploy {

/// How many deployments run side by side on this host: the workers poll many stacks at once,
/// but pull, apply and gate at most so many (the daemon's, shared by its workers).
class DeployLimit {
public:
    virtual ~DeployLimit() = default;
    /// How many deployments may run at once.
    virtual std::size_t most() const = 0;
    /// Takes a place if one is free now.
    virtual bool try_acquire() = 0;
    /// Takes a place, waiting for one; false when agentd stops first.
    virtual bool acquire() = 0;
    virtual void release() = 0;
};

/// Every side effect the pipeline has, each behind its interface (fakes in tests/).
struct Services {
    sources::GitSource& git;
    trust::GitVerifier& git_verifier;  ///< git.verify: signatures of tags and commits
    sources::Registry& registry;
    runtime::Engine& engine;
    runtime::Compose& compose;
    state::Store& store;
    sys::Clock& clock;
    sys::HttpClient& http;           ///< health.http probes
    trust::ImageVerifier& verifier;  ///< image signatures, for stacks that configure `verify`
    /// Credentials for pulling from a registry host, if configured.
    std::function<std::optional<runtime::RegistryCredentials>(const std::string& host)> credentials;
    /// Told of polls, gates and finished deployments (metrics); null: nobody watches.
    CycleObserver* observer = nullptr;
    /// The proxy blue-green stacks switch (strategy: blue_green); null: none wired.
    runtime::Proxy* proxy = nullptr;
    /// With `fleet:`: this host's turns to deploy, through etcd; null: no fleet.
    fleet::Coordinator* fleet = nullptr;
    /// Held by every deployment from its first pull to its verdict; null: no bound.
    DeployLimit* deploy_limit = nullptr;
};

enum class Outcome {
    Noop,         ///< nothing changed (or the desired release is known bad)
    Paused,       ///< the stack is paused: nothing done (a pinned stack polls: Noop)
    PollError,    ///< observe failed (git or registry); nothing touched
    Waiting,      ///< an image of the release does not exist yet, or it waits for approval
    Rejected,     ///< verify failed; nothing touched
    Succeeded,    ///< promoted
    RolledBack,   ///< gate failed, previous release restored
    Failed,       ///< gate failed and on_failure: stop, or the rollback failed too
    Interrupted,  ///< stop requested; the deployment stays in_progress for recovery
};

std::string to_string(Outcome o);

/// What Docker and compose are given for a recorded image "name:tag@sha256:...": the name
/// pinned to the digest alone ("name@sha256:..."); the tag is kept in the record for people.
std::string runnable(const std::string& image);
std::map<std::string, std::string> runnable(const std::map<std::string, std::string>& images);

/// Whether an admin asked for this cycle to deploy now (`agentctl sync`): a release that the
/// deployment window or min_age holds back is then deployed, and its events say so. Polls,
/// webhooks, and the cycles that resume, unpin and retry queue keep to the schedule.
enum class Urgency { Scheduled, Now };

/// An event recorded when a deployment starts: what verify found signed ("verify"), that an
/// admin deployed outside the window ("window", "min_age").
struct Note {
    std::string phase;
    std::string text;
};

struct CycleResult {
    Outcome outcome = Outcome::Noop;
    std::optional<std::int64_t> deployment;  ///< the deployment the cycle created, if any
    std::string message;                     ///< one line for logs and agentctl
    /// How the containers differ from the current release ("" when they match), when the cycle
    /// compared them; nullopt when it did not (nothing runs yet, a deployment took its place).
    std::optional<std::string> drift;
};

class Reconciler {
public:
    /// `stop` is checked between steps and while gating; when set the cycle ends early and
    /// leaves any deployment `in_progress`, to be finished by recover() at the next start.
    Reconciler(Services services, std::filesystem::path state_dir, const std::atomic<bool>& stop);

    /// One cycle for one stack (a poll, a webhook, `agentctl sync`, `agentctl retry`). A
    /// paused stack is left alone; a pinned one is observed and planned, never deployed.
    /// `asked`: when the cycle was asked for (GitSource::fetch takes a check begun since).
    CycleResult reconcile(const config::Stack& stack, model::Trigger trigger,
                          Urgency urgency = Urgency::Scheduled,
                          sources::AskedAt asked = std::chrono::steady_clock::now());
    /// Restores deployment `to` (default: the succeeded one before the current), gated.
    /// The caller pins the stack on success.
    CycleResult rollback(const config::Stack& stack, std::optional<std::int64_t> to);
    /// Holds the stack at deployment `to` (`agentctl pin`): a release of this stack that passed
    /// the gate. When it is not what runs, it is restored through the gate first, as by
    /// rollback(); the stack is pinned (`paused` untouched) only once it runs. The result's
    /// deployment is the one pinned: the restore, or the current one when `to`'s release
    /// already runs (outcome Noop). An unknown or unfit `to` is Failed, nothing touched.
    CycleResult pin(const config::Stack& stack, std::int64_t to);
    /// Deploys the release that waits for approval (`approval: manual`, `agentctl approve`):
    /// exactly deployment `which` when given, and nothing when a newer candidate replaced it
    /// (Failed, saying which one waits now). Paused or pinned stacks, and a stack with nothing
    /// waiting for approval, are Failed with nothing touched.
    CycleResult approve(const config::Stack& stack, std::optional<std::int64_t> which);
    /// Finishes every deployment the stack has `in_progress`: applies and gates it again, then
    /// promotes it or rolls back (one interrupted in its rollback is restored). Run at start
    /// (a crash left it) and after a cycle that ended by an exception (the store failing
    /// mid-way); `cause` says which in the deployment's events.
    void recover(const config::Stack& stack, std::string_view cause);

    /// Where the stack's compose project lives: the git working tree's path, or `dir`.
    std::filesystem::path project_dir(const config::Stack& stack) const;

private:
    /// What the cycle writes as the stack's last poll when it ends.
    struct PollRecord {
        std::string error;      ///< empty: the poll succeeded
        std::string candidate;  ///< what the stack waits for or why it stays, for status
        std::string revision;   ///< the revision the poll saw
        std::string drift;      ///< how the containers differ from the current release
        std::string drift_before;  ///< what the previous poll found (logged when it changes)
    };
    /// `pinned`: the deployment the stack is held at; the cycle then observes and plans only.
    CycleResult cycle(const config::Stack& stack, model::Trigger trigger, Urgency urgency,
                      sources::AskedAt asked, PollRecord& poll, std::optional<std::int64_t> pinned);
    /// After a release was deployed or rejected and did not become current: what status shows
    /// until the next poll (marked bad, or tried again), rather than nothing pending.
    CycleResult not_current_note(const config::Stack& stack, const model::Release& release,
                                 CycleResult result, PollRecord& poll);

    // The steps, in pipeline order.
    sys::Result<Observation> observe(const config::Stack& stack, sources::AskedAt asked);
    sys::Result<void> observe_revision(const config::Stack& stack,
                                       const std::optional<model::Deployment>& current,
                                       sources::AskedAt asked, Observation& o);
    /// The reference whose digest `service` should run (nullopt: pinned already, or refused).
    sys::Result<std::optional<sources::ImageRef>> image_to_resolve(
        const config::Stack& stack, const runtime::ComposeService& service,
        const std::optional<model::Deployment>& current, Observation& o);
    Known known(const config::Stack& stack, const Observation& observation);
    /// schedule() of a planned Deploy, reading the release's age when min_age asks for it.
    /// An admin's Urgency::Now keeps it a Deploy, with a note saying what it overrode.
    Plan timed(const config::Stack& stack, Plan next, const Observation& observation,
               const Known& known, Urgency urgency, std::vector<Note>& notes);
    sys::Result<Verdict> verify(const config::Stack& stack, const Observation& observation);
    sys::Result<Verdict> verify_git(const config::Stack& stack, const Observation& observation);
    sys::Result<Verdict> verify_images(const config::Stack& stack, const Observation& observation);
    /// Hook services must have a compose profile, so that `up` does not start them too.
    Verdict verify_hooks(const config::Stack& stack, const Observation& observation);
    /// `notes`: recorded as events of the deployment first (what verify found signed).
    CycleResult deploy(const config::Stack& stack, model::Deployment d,
                       const std::vector<Note>& notes = {});
    /// A place under Services::deploy_limit, given back when it goes out of scope.
    class Room {
    public:
        explicit Room(DeployLimit* limit) : m_limit(limit) {}
        ~Room() {
            if (m_limit != nullptr) {
                m_limit->release();
            }
        }
        Room(const Room&) = delete;
        Room& operator=(const Room&) = delete;

    private:
        DeployLimit* m_limit;
    };
    /// A place for `d` under the deploy limit, waited for when none is free (an event says so);
    /// nullopt when agentd stops first.
    std::optional<Room> make_room(model::Deployment& d);
    sys::Result<void> pull(const config::Stack& stack, model::Deployment& d);
    /// Checks `release` out, brings it up and gates it; used by deploy, rollback and recovery.
    /// `replaces`: the release whose files the containers have now (none: nothing applied
    /// yet); the services whose build or mounted inputs differ are rebuilt and recreated.
    /// With `record_phases`, `d` enters the apply and gate phases (a restore stays in the
    /// rollback phase so that a crash during it is recovered by restoring again).
    Applied apply_and_gate(const config::Stack& stack, model::Deployment& d,
                           const model::Release& release, const model::Release* replaces,
                           bool record_phases);
    /// apply_and_gate of `d`'s release, then its post-deploy hooks once it passed (a failing
    /// one is a failed gate: rolled back and marked bad).
    Applied apply_gate_and_check(const config::Stack& stack, model::Deployment& d,
                                 const model::Release* replaces);
    /// The pre-deploy hooks on `d`'s release, checked out in the preview directory; the
    /// failure, if any.
    std::optional<std::string> pre_deploy(const config::Stack& stack, model::Deployment& d);
    /// Runs `hooks` in order (`compose run --rm`, `release`'s images pinned, the project in
    /// `dir`), each in phase `phase` with its output as an event; the first failure, if any.
    /// For a blue-green stack `slot` is what ${AGENTD_SLOT} says in the compose files (the slot
    /// the hooks are about).
    std::optional<std::string> run_hooks(const config::Stack& stack, model::Deployment& d,
                                         const std::string& phase,
                                         const std::vector<config::Hook>& hooks,
                                         const std::filesystem::path& dir,
                                         const model::Release& release,
                                         const std::string& slot = {});
    /// Removes the one-off containers of hook `service` that a failed run left behind.
    void remove_left_behind(const config::Stack& stack, model::Deployment& d,
                            const std::string& phase, const std::string& service);
    /// Hooks run for deployments of new releases, never for restores (trigger rollback).
    static bool runs_hooks(const model::Deployment& d);
    /// `d` got as far as `compose up` (by its recorded phase).
    static bool applied_yet(const model::Deployment& d);
    sys::Result<GateTarget> apply(const config::Stack& stack, const model::Release& release,
                                  const runtime::UpOptions& options);
    /// A gate's result as the pipeline judges it.
    static Applied judged(const GateResult& result);
    /// Runs the health gate on `target` with `health` (the stack's, or the slot's and the soak's
    /// variants of it for blue-green).
    GateResult gate(const config::Health& health, const model::Deployment& d,
                    const GateTarget& target);
    CycleResult promote(const config::Stack& stack, model::Deployment& d);
    /// With `fleet:`: nullopt when this host may start d's release now (the slot it holds is
    /// added to `notes`, recorded when the deployment starts), else d recorded as waiting for
    /// its turn (verified and pulled).
    std::optional<CycleResult> wait_for_turn(const config::Stack& stack, model::Deployment& d,
                                             std::vector<Note>& notes);
    /// The end of a fleet turn: done, a halt of a bad release, or the slot given back; recorded
    /// in the deployment's events before etcd is told (so that a turn's events never outlast
    /// the slot).
    void end_turn(const config::Stack& stack, const model::Release& release,
                  const CycleResult& result);
    /// The candidate failed: remember it as bad when the failure is a verdict on it, then
    /// restore the previous release (unless on_failure: stop).
    CycleResult roll_back(const config::Stack& stack, model::Deployment& d, const Applied& failure);
    CycleResult restore(const config::Stack& stack, model::Deployment& d);
    /// `d` re-applies the release of the deployment it replaces (a heal of drift): a failure
    /// is not a verdict on that release, and there is nothing earlier to restore.
    bool reapplies_previous(const model::Deployment& d);

    // Blue-green releases (reconciler_blue_green.cpp).
    static bool blue_green(const config::Stack& stack);
    std::filesystem::path slot_dir(const config::Stack& stack, const std::string& slot) const;
    /// Refuses slot services two slots cannot both run (container_name, ports, host network).
    Verdict verify_slots(const config::Stack& stack, const Observation& observation);
    /// Steps 6-8 of deploy() for a blue-green stack: apply to the idle slot, gate it, switch,
    /// soak through the proxy, then promote or switch back.
    CycleResult deploy_slot(const config::Stack& stack, model::Deployment& d);
    sys::Result<SlotUp> apply_slot(const config::Stack& stack, model::Deployment& d,
                                   const model::Release& release, const std::string& slot);
    /// `compose up` of `shared` (release's services outside the slots) in the shared
    /// project, from the files in `dir`.
    sys::Result<void> up_shared(const config::Stack& stack, const runtime::ComposeProject& base,
                                const model::Release& release,
                                const std::vector<std::string>& shared);
    /// The shared services back to the release of deployment `serving`, from `slot`'s files
    /// (a rollback); the failure, if any.
    std::optional<std::string> restore_shared(const config::Stack& stack, model::Deployment& d,
                                              const std::string& slot,
                                              const model::Deployment& serving);
    /// Step 8's switch of `d` to `slot`: phase "switch", and what failed, as events.
    sys::Result<runtime::Switched> switch_to(const config::Stack& stack, model::Deployment& d,
                                             const std::string& slot);
    /// Points the proxy at `slot`'s containers as they are listed now, the upstream file naming
    /// `deployment`; records "traffic on slot" in `d` when the proxy took it.
    sys::Result<runtime::Switched> route_to(const config::Stack& stack, model::Deployment& d,
                                            const std::string& slot, std::int64_t deployment);
    /// The soak after a switch to `serving`; on failure traffic goes back to `before`.
    CycleResult soak(const config::Stack& stack, model::Deployment& d, const model::Slots& serving,
                     const std::optional<model::Slots>& before);
    /// A deployment of what the idle slot still runs (a rollback inside keep_old_for): the
    /// switch alone, nothing pulled or started; nullopt when there is no such slot or the
    /// switch failed.
    std::optional<CycleResult> switch_back(const config::Stack& stack, model::Deployment& d);
    CycleResult slot_failed(const config::Stack& stack, model::Deployment& d,
                            const std::string& slot, const Applied& failure);
    /// The end of a blue-green rollback, traffic on `slot` which runs deployment `serving`:
    /// the on_rollback hooks on that release, then rolled_back (failed when a hook failed).
    CycleResult slot_rolled_back(const config::Stack& stack, model::Deployment& d,
                                 const std::string& slot, std::int64_t serving);
    /// The containers of the current release: the stack's project, or for a blue-green stack
    /// the shared project's and the active slot's.
    sys::Result<std::vector<runtime::ContainerSummary>> serving_containers(
        const config::Stack& stack);
    void stop_slot(const config::Stack& stack, const std::string& slot);
    /// Stops the idle slot once keep_old_for is over (every cycle looks).
    void stop_idle_slot(const config::Stack& stack);
    /// recover() of a blue-green deployment, against what the proxy's file says.
    void recover_slot(const config::Stack& stack, model::Deployment& d, std::string_view cause);

    // Upkeep of what runs (reconciler_upkeep.cpp).
    /// Nothing new to deploy (`noop`): compares the containers with the current release and,
    /// with `drift: heal`, re-applies it through the gate when they differ.
    CycleResult keep_current(const config::Stack& stack, const Known& known, Urgency urgency,
                             PollRecord& poll, CycleResult noop);
    /// How the containers differ from the current release, from one listing ("" when they
    /// match), also written to `poll`; nullopt when not compared (nothing deployed yet, a later
    /// deployment was applied and left running, the engine did not answer).
    std::optional<std::string> look_for_drift(const config::Stack& stack, const Known& known,
                                              PollRecord& poll);
    /// The containers are the current release's: no deployment after it is under way or was
    /// applied and left (on_failure: stop, a failed rollback).
    bool runs_current(const config::Stack& stack, const model::Deployment& current);
    /// Records compose's configuration hash of each service of promoted deployment `d`.
    void remember_config_hashes(const config::Stack& stack, const model::Deployment& d);
    /// Image retention after `d` was promoted: removes the images agentd pulled for the stack
    /// that no kept release (keep_releases) names, and counts the kept releases that can be
    /// restored without a registry.
    void retain(const config::Stack& stack, model::Deployment& d);

    // Outcomes that create or end a deployment without deploying.
    CycleResult reject(const config::Stack& stack, const model::Release& release,
                       const std::string& why, model::Trigger trigger);
    CycleResult wait(const config::Stack& stack, const Plan& plan, model::Trigger trigger);
    /// approval: manual: records `d` as waiting for approval once its images are pulled.
    CycleResult await_approval(const config::Stack& stack, model::Deployment d,
                               const std::vector<Note>& notes);
    CycleResult give_up(const config::Stack& stack, const Plan& plan);
    /// Ends `d` with `status`: its outcome and "record" event in one write of the store.
    CycleResult finish(model::Deployment& d, model::Status status, const std::string& reason);
    /// Records the new deployment `d` and returns its id; an older deployment of the stack
    /// still waiting becomes superseded: only the newest candidate waits.
    std::int64_t create(const model::Deployment& d);
    /// Sets the outcome fields of `d`; finish() and promote() write them.
    void settle(model::Deployment& d, model::Status status, const std::string& reason);
    /// The "record" event of a settled deployment.
    model::Event record_event(const model::Deployment& d) const;

    // Helpers.
    /// Pulls `image` unless present, telling the observer its progress as part of `d`; true
    /// when it was pulled.
    sys::Result<bool> ensure_image(const model::Deployment& d, const std::string& image);
    sys::Result<std::vector<runtime::ComposeService>> services_at(const config::Stack& stack,
                                                                  const std::string& revision,
                                                                  const std::string& tag);
    sys::Result<runtime::ComposeProject> project(const config::Stack& stack,
                                                 const std::filesystem::path& dir,
                                                 const std::string& revision,
                                                 const std::string& tag);
    void record_poll(const config::Stack& stack, const PollRecord& poll);
    /// The key of the services cache for the project of `revision` in `dir`: never derived
    /// from env values (env_files_fingerprint), so it can be computed before the checkout.
    std::string services_key(const config::Stack& stack, const std::filesystem::path& dir,
                             const std::string& revision, const std::string& tag) const;

    // What a revision changes among the stack's inputs (reconciler_inputs.cpp).
    /// The repository paths the stack reads at `revision` (git stacks; cached with the
    /// services). nullopt when they cannot be known.
    std::optional<StackInputs> inputs_at(const config::Stack& stack, const std::string& revision,
                                         const std::string& tag);
    StackInputs collect_preview_inputs(const config::Stack& stack,
                                       const runtime::ComposeProject& project,
                                       const std::vector<runtime::ComposeService>& services);
    /// What `to` changes among the stack's inputs, compared with `from`; nullopt when it cannot
    /// be told (a `dir:` stack, a revision the mirror lacks).
    std::optional<InputChanges> input_changes(const config::Stack& stack,
                                              const model::Release& from, const model::Release& to);
    /// True when `to` differs from `from` only by commits that change nothing the stack reads,
    /// with the same images: not a new release for this stack.
    bool reads_the_same(const config::Stack& stack, const model::Release& from,
                        const model::Release& to);
    /// The release whose files the stack's containers have while deployment `applying` starts:
    /// the current one, or a newer one the gate failed and that was left running (on_failure:
    /// stop, or nothing to roll back to). nullopt when nothing was applied yet.
    std::optional<model::Release> running_release(const config::Stack& stack,
                                                  std::int64_t applying);
    /// The services to rebuild and recreate so that `release` replaces `running` in the
    /// containers (none when nothing runs yet); `note` says which and why, when any.
    runtime::UpOptions up_options(const config::Stack& stack, const model::Release* running,
                                  const model::Release& release, std::string& note);
    void event(model::Deployment& d, const std::string& phase, const std::string& message);
    void enter(model::Deployment& d, const std::string& phase, const std::string& message);
    /// The stack's git working tree (compose runs in its git.path).
    std::filesystem::path stack_dir(const config::Stack& stack) const;
    /// agentd's own files for the stack (override, services cache): outside the working tree,
    /// where a repository could plant a symlink or a file of the same name.
    std::filesystem::path meta_dir(const config::Stack& stack) const;

    Services m_s;
    CycleObserver m_no_observer;
    CycleObserver& m_observer;  // m_s.observer, or m_no_observer
    std::filesystem::path m_state_dir;
    const std::atomic<bool>& m_stop;
    ImageAges m_image_ages;  // for min_age
};

}  // namespace agentd::deploy
