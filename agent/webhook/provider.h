#pragma once
// The forges that send webhooks (SPEC section 7: POST /webhooks/github, /webhooks/gitea,
// /webhooks/gitlab) and the request headers each one names its event, delivery and proof in.
//
// - GitHub: event X-GitHub-Event, delivery X-GitHub-Delivery, proof X-Hub-Signature-256
//   ("sha256=" and the hex HMAC).
// - Gitea and Forgejo: event X-Gitea-Event or X-Forgejo-Event, delivery X-Gitea-Delivery or
//   X-Forgejo-Delivery, proof X-Gitea-Signature or X-Forgejo-Signature (the hex HMAC).
// - GitLab: event X-Gitlab-Event, delivery Idempotency-Key or X-Gitlab-Event-UUID, proof
//   X-Gitlab-Token (the secret itself).
//
// Where a provider has several spellings of one header (Forgejo sends its own names and
// Gitea's), the first one present in the order above is used.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::webhook {

enum class Provider { GitHub, Gitea, GitLab };

/// "github", "gitea", "gitlab": the last segment of the route.
std::string_view to_string(Provider provider);
/// The provider of a route segment ("github", "gitea", "gitlab"); nullopt for anything else.
/// Forgejo posts to "gitea".
std::optional<Provider> provider_named(std::string_view name);

/// The headers naming the event, in the order they are looked for.
const std::vector<std::string_view>& event_headers(Provider provider);
/// The headers carrying the delivery id, in the order they are looked for.
const std::vector<std::string_view>& delivery_headers(Provider provider);
/// The headers carrying the signature or token, in the order they are looked for.
const std::vector<std::string_view>& signature_headers(Provider provider);

}  // namespace agentd::webhook
