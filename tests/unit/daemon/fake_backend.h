#pragma once
// An ApiBackend that answers from fields the test sets and records what it was asked.

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/daemon/api_backend.h"

namespace agentd::daemon::testing {

class FakeBackend final : public ApiBackend {
public:
    std::vector<std::string> stacks{"shop", "blog"};
    std::vector<model::Deployment> deployments;
    deploy::CycleResult cycle{deploy::Outcome::Succeeded, 7, "deployed"};
    std::vector<std::string> calls;
    int last_limit = 0;
    std::optional<std::int64_t> last_to;
    bool reload_fails = false;
    std::vector<std::string> registry_tags{"v1.2.0",      "latest",         "1.10.0",
                                           "v2.0.0-rc.1", "sha256-abc.sig", "1.9.3"};
    std::optional<sys::Error> tags_error;
    std::optional<sources::ImageRef> last_image;
    /// What verify answers: this verdict (its digest filled in when empty), or verify_error.
    VerifyVerdict verdict{"", true, "cosign signature verified with key /etc/agentd/cosign.pub"};
    std::optional<sys::Error> verify_error;
    std::optional<config::ImageVerify> last_policy;

    bool known(const std::string& s) const {
        return std::find(stacks.begin(), stacks.end(), s) != stacks.end();
    }

    sys::Result<std::vector<StackStatus>> status(const std::optional<std::string>& stack) override {
        calls.push_back("status " + stack.value_or("*"));
        if (stack && !known(*stack)) {
            return unknown_stack(*stack);
        }
        std::vector<StackStatus> out;
        for (const auto& s : stacks) {
            if (!stack || s == *stack) {
                StackStatus st;
                st.name = s;
                st.state = "running";
                st.stack_state.stack = s;
                st.stack_state.last_poll.result = "ok";
                if (!deployments.empty()) {
                    st.current = deployments.front();
                }
                out.push_back(st);
            }
        }
        return out;
    }
    sys::Result<std::vector<model::Deployment>> history(const std::optional<std::string>& stack,
                                                        int limit) override {
        calls.push_back("history " + stack.value_or("*"));
        last_limit = limit;
        return deployments;
    }
    sys::Result<model::Deployment> show(std::int64_t id) override {
        calls.push_back("show " + std::to_string(id));
        for (const auto& d : deployments) {
            if (d.id == id) {
                return d;
            }
        }
        return sys::Error::not_found("unknown deployment " + std::to_string(id));
    }
    sys::Result<std::optional<deploy::CycleResult>> sync(const std::string& stack, bool wait,
                                                         const std::string& request) override {
        calls.push_back(std::string("sync ") + stack + (wait ? " wait" : "") +
                        (request.empty() ? "" : " request " + request));
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        return wait ? std::optional<deploy::CycleResult>(cycle) : std::nullopt;
    }
    sys::Result<deploy::CycleResult> rollback(const std::string& stack,
                                              std::optional<std::int64_t> to) override {
        calls.push_back("rollback " + stack);
        last_to = to;
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        return cycle;
    }
    sys::Result<model::StackState> set_paused(const std::string& stack, bool paused) override {
        calls.push_back((paused ? "pause " : "resume ") + stack);
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        model::StackState s;
        s.stack = stack;
        s.paused = paused;
        return s;
    }
    std::optional<std::int64_t> last_pin;
    sys::Result<deploy::CycleResult> pin(const std::string& stack,
                                         std::int64_t deployment) override {
        calls.push_back("pin " + stack + " " + std::to_string(deployment));
        last_pin = deployment;
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        for (const auto& d : deployments) {
            if (d.id == deployment && d.stack == stack) {
                if (d.status != model::Status::Succeeded) {
                    return sys::Error::conflict("deployment " + std::to_string(deployment) +
                                                " is " + model::to_string(d.status));
                }
                return cycle;
            }
        }
        return sys::Error::not_found("stack " + stack + " has no deployment " +
                                     std::to_string(deployment));
    }
    sys::Result<model::StackState> unpin(const std::string& stack) override {
        calls.push_back("unpin " + stack);
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        model::StackState s;
        s.stack = stack;
        s.paused = true;  // unpin leaves `paused` as it was
        return s;
    }
    std::optional<std::int64_t> last_approved;
    sys::Result<deploy::CycleResult> approve(const std::string& stack,
                                             std::optional<std::int64_t> deployment) override {
        calls.push_back("approve " + stack);
        last_approved = deployment;
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        if (deployment && *deployment == stale_candidate) {
            return sys::Error::conflict("a newer candidate waits for approval now");
        }
        return cycle;
    }
    std::int64_t stale_candidate = -1;  ///< approve answers 409 for this deployment
    sys::Result<deploy::CycleResult> retry(const std::string& stack) override {
        calls.push_back("retry " + stack);
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        return cycle;
    }
    StackDiff stack_diff;
    sys::Result<StackDiff> diff(const std::string& stack) override {
        calls.push_back("diff " + stack);
        if (!known(stack)) {
            return unknown_stack(stack);
        }
        StackDiff d = stack_diff;
        d.stack = stack;
        return d;
    }
    sys::Result<int> reload() override {
        calls.push_back("reload");
        if (reload_fails) {
            return sys::Error::invalid("invalid configuration, not reloaded:\nagent.yaml:1:1: x");
        }
        return static_cast<int>(stacks.size());
    }
    sys::Result<std::vector<std::string>> tags(const sources::ImageRef& image) override {
        calls.push_back("tags " + image.familiar_name());
        last_image = image;
        if (tags_error) {
            return *tags_error;
        }
        return registry_tags;
    }
    sys::Result<VerifyVerdict> verify(const sources::ImageRef& image,
                                      const config::ImageVerify& policy) override {
        calls.push_back("verify " + image.familiar_name());
        last_image = image;
        last_policy = policy;
        if (verify_error) {
            return *verify_error;
        }
        VerifyVerdict v = verdict;
        if (v.digest.empty()) {
            v.digest = image.digest.empty() ? "sha256:" + std::string(64, 'a') : image.digest;
        }
        return v;
    }
    /// A stream handing out `event_lines`, one per next(), then ending.
    class LinesStream final : public ApiStream {
    public:
        explicit LinesStream(std::vector<std::string> lines) : m_lines(std::move(lines)) {}
        std::optional<std::string> next(sys::Duration) override {
            if (m_next == m_lines.size()) {
                return std::nullopt;
            }
            return m_lines[m_next++];
        }

    private:
        std::vector<std::string> m_lines;
        std::size_t m_next = 0;
    };
    std::vector<std::string> event_lines;
    sys::Result<std::unique_ptr<ApiStream>> events(
        const std::optional<std::string>& stack) override {
        calls.push_back("events " + stack.value_or("*"));
        if (stack && !known(*stack)) {
            return unknown_stack(*stack);
        }
        return std::unique_ptr<ApiStream>(std::make_unique<LinesStream>(event_lines));
    }

    /// The fleet's answers: `group` as etcd would have it; unhalt and release edit it.
    class FakeAdmin final : public fleet::Admin {
    public:
        fleet::GroupView group;
        std::optional<sys::Error> error;  ///< every call fails with it (etcd unreachable)
        std::vector<std::string> calls;

        /// What seen() answers besides `group`.
        bool watching = true;
        std::set<std::string> waiting;
        fleet::FleetSeen seen() override { return {group, watching, true, waiting}; }
        sys::Result<fleet::GroupView> look(const std::optional<std::string>& stack) override {
            calls.push_back("look " + stack.value_or("*"));
            if (error)
                return *error;
            auto out = group;
            if (stack) {
                std::erase_if(out.stacks, [&](const auto& s) { return s.first != *stack; });
                out.stacks.try_emplace(*stack);
            }
            return out;
        }
        sys::Result<fleet::Halt> unhalt(const std::string& stack) override {
            calls.push_back("unhalt " + stack);
            if (error)
                return *error;
            auto& halt = group.stacks[stack].halt;
            if (!halt)
                return sys::Error::conflict("fleet: stack " + stack + " is not halted");
            return std::exchange(halt, std::nullopt).value();
        }
        sys::Result<fleet::SlotHolder> release(const std::string& stack,
                                               const std::string& host) override {
            calls.push_back("release " + stack + " " + host);
            if (error)
                return *error;
            auto& queue = group.stacks[stack].queue;
            const auto it = std::find_if(queue.begin(), queue.end(),
                                         [&](const auto& h) { return h.host == host; });
            if (it == queue.end())
                return sys::Error::not_found("fleet: host " + host + " is not queued");
            auto held = *it;
            queue.erase(it);
            return held;
        }
    };
    /// Per stack: release names by fleet key.
    std::map<std::string, std::map<std::string, std::string>> names;
    std::map<std::string, std::string> release_names(const std::string& stack) override {
        return names[stack];
    }
    /// Null: no `fleet:` in the configuration.
    std::unique_ptr<FakeAdmin> fleet_admin;
    fleet::Admin* fleet() override { return fleet_admin.get(); }
};

inline model::Deployment sample_deployment(std::int64_t id, const std::string& stack) {
    model::Deployment d;
    d.id = id;
    d.stack = stack;
    d.status = model::Status::Succeeded;
    d.release.revision = "0123456789abcdef0123456789abcdef01234567";
    d.release.images["web"] =
        "ghcr.io/acme/web:2.3.1@sha256:"
        "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999";
    d.trigger = model::Trigger::Poll;
    d.started_at = std::chrono::system_clock::from_time_t(1'700'000'000);
    d.finished_at = d.started_at + std::chrono::seconds(42);
    d.reason = "healthy";
    d.events.push_back({d.started_at, "apply", "compose up"});
    return d;
}

}  // namespace agentd::daemon::testing
