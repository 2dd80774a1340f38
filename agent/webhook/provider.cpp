#include "agent/webhook/provider.h"

namespace agentd::webhook {

std::string_view to_string(Provider provider) {
    switch (provider) {
        case Provider::Gitea:
            return "gitea";
        case Provider::GitLab:
            return "gitlab";
        case Provider::GitHub:
            break;
    }
    return "github";
}

std::optional<Provider> provider_named(std::string_view name) {
    if (name == "github") {
        return Provider::GitHub;
    }
    if (name == "gitea") {
        return Provider::Gitea;
    }
    if (name == "gitlab") {
        return Provider::GitLab;
    }
    return std::nullopt;
}

const std::vector<std::string_view>& event_headers(Provider provider) {
    static const std::vector<std::string_view> github = {"X-GitHub-Event"};
    static const std::vector<std::string_view> gitea = {"X-Gitea-Event", "X-Forgejo-Event"};
    static const std::vector<std::string_view> gitlab = {"X-Gitlab-Event"};
    switch (provider) {
        case Provider::Gitea:
            return gitea;
        case Provider::GitLab:
            return gitlab;
        case Provider::GitHub:
            break;
    }
    return github;
}

const std::vector<std::string_view>& delivery_headers(Provider provider) {
    static const std::vector<std::string_view> github = {"X-GitHub-Delivery"};
    static const std::vector<std::string_view> gitea = {"X-Gitea-Delivery", "X-Forgejo-Delivery"};
    // GitLab 17.4 and later send an Idempotency-Key that stays the same across retries of one
    // event; X-Gitlab-Event-UUID is older and names the event.
    static const std::vector<std::string_view> gitlab = {"Idempotency-Key", "X-Gitlab-Event-UUID"};
    switch (provider) {
        case Provider::Gitea:
            return gitea;
        case Provider::GitLab:
            return gitlab;
        case Provider::GitHub:
            break;
    }
    return github;
}

const std::vector<std::string_view>& signature_headers(Provider provider) {
    static const std::vector<std::string_view> github = {"X-Hub-Signature-256"};
    static const std::vector<std::string_view> gitea = {"X-Gitea-Signature", "X-Forgejo-Signature"};
    static const std::vector<std::string_view> gitlab = {"X-Gitlab-Token"};
    switch (provider) {
        case Provider::Gitea:
            return gitea;
        case Provider::GitLab:
            return gitlab;
        case Provider::GitHub:
            break;
    }
    return github;
}

}  // namespace agentd::webhook
