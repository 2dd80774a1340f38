#pragma once
// What the HTTP API (SPEC section 7) asks of the daemon. The server only parses requests and
// writes answers; tests give it a fake backend.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/config/config.h"
#include "agent/deploy/reconciler.h"
#include "agent/deploy/release_diff.h"
#include "agent/fleet/admin.h"
#include "agent/model/deployment.h"
#include "agent/sources/git_source.h"
#include "agent/sources/image_ref.h"
#include "agent/sys/result.h"

namespace agentd::daemon {

/// A refused request is a sys::Error: api_routes.cpp answers it with the HTTP status of its
/// kind (InvalidInput 400, NotFound 404, Conflict 409, Unavailable and Unauthorized 502, Failed
/// 500), and its message is what the user reads after "agentctl: ".

/// "unknown stack \"x\"" (NotFound).
sys::Error unknown_stack(const std::string& name);

/// A release waiting (a `waiting` deployment) for its images, the deployment window, min_age
/// or approval.
struct WaitingRelease {
    std::int64_t deployment = 0;
    /// What it waits for: "images", "window", "min_age" or "approval" (model::k_waits_for_*).
    std::string reason;
    sys::TimePoint since;  ///< when the wait began
    /// For images: since + the stack's image_wait, rejected after it if still missing. For
    /// window: when the window opens next. None for min_age and approval.
    std::optional<sys::TimePoint> until;
};

/// One stack as `status` shows it.
struct StackStatus {
    std::string name;
    /// "running" (current succeeded), "drifted" (running, but the last poll found the
    /// containers differ from it), "deploying" (a deployment in progress), "paused",
    /// "failed" (latest failed or rolled back and nothing succeeded), "new" (nothing yet).
    std::string state;
    model::StackState stack_state;
    std::optional<model::Deployment> current;
    std::optional<WaitingRelease> waiting;
};

/// The state name of a stack from what the store knows (see StackStatus::state).
std::string stack_state_name(const model::StackState& state,
                             const std::optional<model::Deployment>& current,
                             const std::optional<model::Deployment>& latest);

/// What `agentctl verify` learns about one image.
struct VerifyVerdict {
    std::string digest;  ///< the digest checked: the one given, or the tag's as resolved now
    bool verified = false;
    /// What verified it ("... verified with key FILE (ECDSA P-256)"), or why not: the
    /// rejection the verify step would record.
    std::string message;
};

/// A streamed answer (GET /v1/events): what the server sends, piece by piece, as it comes.
class ApiStream {
public:
    virtual ~ApiStream() = default;
    /// The next bytes to send; "" when nothing came within `wait` (the server asks again, or
    /// ends the stream when it is stopping); nullopt when the stream is over.
    virtual std::optional<std::string> next(sys::Duration wait) = 0;
};

/// What the stack's next deployment would change (`agentctl diff`): the release its last poll
/// observed compared with the current one.
struct StackDiff {
    std::string stack;
    std::optional<model::Deployment> current;
    std::optional<model::Release> candidate;  ///< as the last successful poll observed it
    /// The candidate differs from what runs and the last poll left it pending (deploying,
    /// waiting, held by a pin, or marked bad: `note` says which).
    bool pending = false;
    std::string note;                         ///< the stack's candidate line, as status shows it
    std::vector<sources::GitCommit> commits;  ///< current..candidate, newest first
    bool commits_truncated = false;
    std::string compose_diff;  ///< unified diff of the stack's directory
    deploy::ServiceChanges services;
};

class ApiBackend {
public:
    virtual ~ApiBackend() = default;
    /// Every configured stack, or only `stack`; unknown stack: 404.
    virtual sys::Result<std::vector<StackStatus>> status(
        const std::optional<std::string>& stack) = 0;
    /// Newest first; all stacks when `stack` is empty.
    virtual sys::Result<std::vector<model::Deployment>> history(
        const std::optional<std::string>& stack, int limit) = 0;
    /// One deployment with its events; 404 when absent.
    virtual sys::Result<model::Deployment> show(std::int64_t id) = 0;
    /// Queues a cycle. With `wait`, blocks until it ends and returns its result; without,
    /// returns nullopt as soon as it is queued. `request`: the waiting client's id, named in
    /// the cycle's end line of the live progress ("" for none).
    virtual sys::Result<std::optional<deploy::CycleResult>> sync(const std::string& stack,
                                                                 bool wait,
                                                                 const std::string& request) = 0;
    /// Restores `to` (default: the previous succeeded release), waits, pins and pauses the
    /// stack on success.
    virtual sys::Result<deploy::CycleResult> rollback(const std::string& stack,
                                                      std::optional<std::int64_t> to) = 0;
    /// Sets or clears `paused`; resume also clears `pinned`. Returns the new state.
    virtual sys::Result<model::StackState> set_paused(const std::string& stack, bool paused) = 0;
    /// Holds `stack` at `deployment`'s release (Reconciler::pin), waiting for any restore it
    /// takes. An unknown deployment or another stack's: 404; one that did not pass the gate:
    /// 409. A restore that fails the gate is a result (outcome rolled_back), not an error.
    virtual sys::Result<deploy::CycleResult> pin(const std::string& stack,
                                                 std::int64_t deployment) = 0;
    /// Clears `pinned` (`paused` stays) and queues a cycle, which may deploy the newest
    /// candidate at once. Returns the new state.
    virtual sys::Result<model::StackState> unpin(const std::string& stack) = 0;
    /// Deploys the release of `stack` that waits for approval (Reconciler::approve), waiting
    /// for the outcome: exactly `deployment` when given. Nothing waiting for approval, a
    /// `deployment` a newer candidate replaced, a paused or pinned stack: 409, saying which
    /// release waits now. A deployment that fails the gate is a result, not an error.
    virtual sys::Result<deploy::CycleResult> approve(const std::string& stack,
                                                     std::optional<std::int64_t> deployment) = 0;
    /// Forgets every release of `stack` marked bad, then runs a cycle with trigger `retry` and
    /// returns its result (a paused or pinned stack still deploys nothing).
    virtual sys::Result<deploy::CycleResult> retry(const std::string& stack) = 0;
    /// What the next deployment of `stack` would change; reads the store, the observed
    /// release and the stack's git mirror, deploys and fetches nothing.
    virtual sys::Result<StackDiff> diff(const std::string& stack) = 0;
    /// Reloads the configuration file; returns the number of stacks. A bad file is a 400 with
    /// every issue, and the old configuration stays.
    virtual sys::Result<int> reload() = 0;
    /// Every tag of `image`'s repository as its registry lists them (unordered), asked with the
    /// daemon's registry credentials. Unknown repository: 404; invalid reference: 400; refused
    /// credentials or an unreachable registry: 502, with a message naming the registry.
    virtual sys::Result<std::vector<std::string>> tags(const sources::ImageRef& image) = 0;
    /// Checks `image`'s signatures against `policy` as the verify step would, with the daemon's
    /// registry credentials and a verifier of its own (nothing cached, no stack or store
    /// touched). A tag is resolved to its digest first. A verdict either way is a value;
    /// errors as for tags: unknown image, tag or digest 404, an unreachable registry or
    /// refused credentials 502.
    virtual sys::Result<VerifyVerdict> verify(const sources::ImageRef& image,
                                              const config::ImageVerify& policy) = 0;
    /// Live progress of `stack` (unknown stack: 404), or of every stack, as JSON lines from
    /// now on (daemon/progress_publisher.h); the stream ends when agentd stops.
    virtual sys::Result<std::unique_ptr<ApiStream>> events(
        const std::optional<std::string>& stack) = 0;
    /// The fleet (`agentctl fleet`): null without `fleet:` in the configuration.
    virtual fleet::Admin* fleet() = 0;
    /// The names ("v2.4.0 (0123456789ab)") of `stack`'s recent releases by their key in the
    /// fleet (model::Release::key), as far as this host's store knows them.
    virtual std::map<std::string, std::string> release_names(const std::string& stack) = 0;
};

}  // namespace agentd::daemon
