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

namespace {

/// Where a provider names its event, delivery and proof, each in the order looked for.
struct HeaderNames {
    std::vector<std::string_view> event;
    std::vector<std::string_view> delivery;
    std::vector<std::string_view> signature;
};

const HeaderNames& header_names(Provider provider) {
    static const HeaderNames github = {
        {"X-GitHub-Event"}, {"X-GitHub-Delivery"}, {"X-Hub-Signature-256"}};
    static const HeaderNames gitea = {{"X-Gitea-Event", "X-Forgejo-Event"},
                                      {"X-Gitea-Delivery", "X-Forgejo-Delivery"},
                                      {"X-Gitea-Signature", "X-Forgejo-Signature"}};
    // GitLab 17.4 and later send an Idempotency-Key that stays the same across retries of one
    // event; X-Gitlab-Event-UUID is older and names the event.
    static const HeaderNames gitlab = {
        {"X-Gitlab-Event"}, {"Idempotency-Key", "X-Gitlab-Event-UUID"}, {"X-Gitlab-Token"}};
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

}  // namespace

const std::vector<std::string_view>& event_headers(Provider provider) {
    return header_names(provider).event;
}

const std::vector<std::string_view>& delivery_headers(Provider provider) {
    return header_names(provider).delivery;
}

const std::vector<std::string_view>& signature_headers(Provider provider) {
    return header_names(provider).signature;
}

}  // namespace agentd::webhook
