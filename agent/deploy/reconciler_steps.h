#pragma once
// The values passed between the steps of the pipeline, and its pure decisions.
//
// observe -> Observation -> plan -> Plan -> verify -> Verdict -> pull, apply and gate -> Applied
//
// plan() and the Applied/Verdict types are kept free of I/O so that what the pipeline decides can
// be tested without fakes. Transient failures (retry at the next poll) and verdicts about a
// release (remembered as bad, never retried) are told apart by type, never by message text:
// a sys::Error is a transient failure unless its kind is InvalidInput.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/model/deployment.h"
#include "agent/runtime/compose.h"
#include "agent/runtime/engine.h"
#include "agent/sys/clock.h"
#include "agent/sys/result.h"

namespace agentd::deploy {

/// What observe found: the desired revision, its services, and a digest for every image.
/// A failure to observe (git or registry unreachable, refused credentials) is not an
/// Observation but the error of observe's Result: a poll error, nothing decided.
struct Observation {
    std::string revision;
    std::string tag;
    std::vector<runtime::ComposeService> services;
    /// The release itself is unusable (compose refused its files, an image reference in them
    /// is invalid): verify rejects it. Always an InvalidInput error.
    std::optional<sys::Error> refused;
    std::map<std::string, std::string> pins;  ///< service -> name:tag@digest
    std::vector<std::string> missing;         ///< "web: 127.0.0.1:5000/web:2.0 not found"

    /// The release this observation describes (images only where resolved).
    model::Release release() const;
};

/// What the store knows that plan() needs, read before it is called.
struct Known {
    std::optional<model::Deployment> current;  ///< the stack's succeeded deployment: what runs
    std::optional<model::Deployment> latest;   ///< the newest deployment of any status
    bool bad = false;                          ///< the observed release is marked bad
    /// The observed release differs from what runs only by commits that change nothing the
    /// stack reads (inputs.h), with the same images: not a new release for this stack.
    bool reads_as_current = false;
    /// Likewise compared with the latest deployment, which is marked bad.
    bool reads_as_bad_latest = false;
};

/// What plan decided.
struct Plan {
    enum class Kind {
        Noop,    ///< what runs is the release, or the release is known bad
        /// The release waits (`reason`): for its images, the deployment window, min_age, or
        /// (verified and pulled) approval. Records a waiting deployment, or keeps the one
        /// there is (`waiting`).
        Wait,
        GiveUp,  ///< the release waited longer than image_wait: reject the waiting deployment
        Deploy,  ///< verify, then deploy `release`
    };
    Kind kind = Kind::Noop;
    model::Release release;
    std::string why;  ///< for Noop/Wait/GiveUp: one line for status and logs
    /// For Noop: said in the cycle's message but not recorded as a candidate (nothing is
    /// pending), e.g. that the new revision changes nothing the stack reads.
    std::string note;
    std::string missing;  ///< for Wait/GiveUp: "web: tag 2.0 not found in ..."
    /// The waiting deployment of this release, if one exists: Wait keeps it, GiveUp rejects
    /// it, Deploy turns it into the deployment.
    std::optional<std::int64_t> waiting;
    /// For Deploy (`approval: manual`): verify and pull the release, then record it as waiting
    /// for `agentctl approve` instead of applying it.
    bool approval = false;
    /// For Wait: what it waits for (model::k_waits_for_*).
    std::string reason;
};

/// Pure: what to do with `observation`, given what runs and what is known to be bad.
Plan plan(const config::Stack& stack, const Observation& observation, const Known& known,
          sys::TimePoint now);

/// Pure: a Deploy that the stack's timing holds back becomes a Wait: until the release is
/// min_age old (`released_at`, nullopt when unknown: counted from when agentd first saw it, the
/// start of its waiting deployment) and then until the deployment window is open. Other plans,
/// and a Deploy for approval (the approver decides when), are returned as they are.
Plan schedule(const config::Stack& stack, Plan p, const Known& known,
              std::optional<sys::TimePoint> released_at, sys::TimePoint now);

/// Pure: `p` for a stack pinned at deployment `pinned`: whatever it would do (deploy, wait,
/// give up) becomes a Noop whose `why` names the release held back, for status; a Noop is kept.
Plan hold(Plan p, std::int64_t pinned);

/// Pure: `stack` with its health gate lengthened by fleet.soak: healthy for the stable window
/// and the soak before the release passes (and the host's fleet turn ends).
config::Stack with_soak(const config::Stack& stack, sys::Duration soak);

/// verify's answer on a planned release. A failure to verify (a transient error) is not a
/// Verdict but the error of verify's Result: a poll error, retried.
struct Verdict {
    bool accepted = true;
    std::string why;  ///< for a rejection: "compose: ...", "signature: ...", "service ...: ..."
    /// For an acceptance: what was found signed, and by whom, one "verify" event each.
    std::vector<std::string> verified;

    static Verdict accept() { return {}; }
    static Verdict reject(std::string why) { return {false, std::move(why)}; }
};

/// How applying a release and gating it ended.
struct Applied {
    enum class Kind {
        Healthy,      ///< applied and passed the gate
        Unhealthy,    ///< applied, failed the gate: a verdict on the release
        Refused,      ///< compose or git refused the release: a verdict on the release
        Failed,       ///< a transient failure (killed, timed out, engine away): retry later
        Interrupted,  ///< stop requested: the deployment stays in_progress for recover()
    };
    Kind kind = Kind::Healthy;
    std::string why;

    bool healthy() const { return kind == Kind::Healthy; }
    /// The failure says something about the release (mark it bad), not about the moment.
    bool verdict() const { return kind == Kind::Unhealthy || kind == Kind::Refused; }
};

/// What a blue-green apply started.
struct SlotUp {
    std::vector<runtime::ContainerSummary> containers;  ///< the slot's
    std::vector<std::string> shared;                    ///< the shared services (may be none)
};

}  // namespace agentd::deploy
