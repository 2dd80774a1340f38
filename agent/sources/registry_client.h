#pragma once
// The OCI distribution API client: resolves tags to manifest digests, lists tags and reads
// manifests and blobs, with the registry's Basic or Bearer (token) authentication.

#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/config/config.h"
#include "agent/sources/docker_config.h"
#include "agent/sources/registry.h"
#include "agent/sources/registry_headers.h"
#include "agent/sources/registry_retry.h"
#include "agent/sources/token_cache.h"
#include "agent/sys/clock.h"
#include "agent/sys/http.h"

namespace agentd::sources {

class RegistryClient final : public Registry {
public:
    /// `registries` are the credentials and TLS settings per host (config `registries:`).
    RegistryClient(sys::HttpClient& http, std::vector<config::Registry> registries);
    /// As above with an injected clock for token expiry.
    RegistryClient(sys::HttpClient& http, std::vector<config::Registry> registries,
                   sys::Clock& clock);

    sys::Result<std::string> resolve_digest(const ImageRef& ref) override;
    /// Their HEAD requests go out together: at most the registry's max_concurrent_requests in
    /// flight to one registry; one that answers 429 or a transient 5xx is asked again after
    /// its backoff while the others go on.
    std::vector<sys::Result<std::string>> resolve_digests(
        const std::vector<ImageRef>& refs) override;
    sys::Result<std::vector<std::string>> list_tags(const ImageRef& ref) override;
    sys::Result<Manifest> get_manifest(const ImageRef& ref) override;
    sys::Result<std::string> get_blob(const ImageRef& ref, const std::string& digest,
                                      std::size_t max_size) override;
    sys::Result<std::vector<Referrer>> referrers(const ImageRef& ref, const std::string& digest,
                                                 const std::string& artifact_type) override;

    /// Replaces the default (3 retries, 500ms base, 10s cap) for 429 and transient 5xx answers;
    /// the waits go through the injected clock's sleep_for.
    void set_retry_policy(RetryPolicy policy) { m_retry = policy; }
    /// Credentials for registries without an entry in `registries` come from the Docker
    /// client config through `fallback` (nullptr: anonymous, the default). It must outlive
    /// this client. A Docker config that cannot be read fails requests that need credentials.
    void set_docker_credentials(const DockerCredentials* fallback) { m_docker = fallback; }
    /// Shares Bearer tokens with other clients (the daemon's workers); by default each client
    /// has its own cache.
    void set_token_cache(std::shared_ptr<TokenCache> tokens) { m_tokens = std::move(tokens); }

    /// The credentials this client uses for `ref`'s registry (its `registries:` entry, the
    /// password file read now so a rotated token is picked up; else, also for an entry without
    /// a username, the Docker client config), to be handed on to the Docker Engine for the
    /// pull. nullopt: anonymous.
    sys::Result<std::optional<RegistryCredentials>> credentials(const ImageRef& ref) const;

private:
    using Credentials = RegistryCredentials;
    using Token = TokenCache::Token;

    const config::Registry* find_entry(const ImageRef& ref) const;
    std::string base_url(const ImageRef& ref) const;
    /// How far one request of send_authorized_all has come.
    struct Attempt {
        std::optional<std::string> token;  ///< the cached Bearer token sent (a secret)
        bool sent_basic = false;           ///< Basic credentials sent up front
        bool challenged = false;           ///< a 401 was answered already
        int retries = 0;                   ///< 429 and 5xx answers asked again
    };

    /// Sends `request` for `ref`'s repository, answering one 401 challenge (Basic or Bearer)
    /// and retrying once. The response may still be 401/403: callers map statuses.
    sys::Result<sys::HttpResponse> send_authorized(const ImageRef& ref, sys::HttpRequest request);
    /// send_authorized of each request (for the repository of the ref at the same place),
    /// several in flight at once (HttpClient::send_all); 429 and transient 5xx answers are
    /// asked again after a backoff that holds back only that registry's requests.
    std::vector<sys::Result<sys::HttpResponse>> send_authorized_all(
        const std::vector<const ImageRef*>& refs, std::vector<sys::HttpRequest> requests);
    /// Sets the TLS files and the Authorization we know `ref`'s registry wants up front.
    sys::Result<void> authorize(const ImageRef& ref, sys::HttpRequest& request, Attempt& attempt);
    /// Answers `response`'s 401 challenge into `request`'s Authorization; false when it has
    /// none we can answer.
    sys::Result<bool> answer_challenge(const ImageRef& ref, const sys::HttpResponse& response,
                                       sys::HttpRequest& request, Attempt& attempt);
    /// How long to wait before asking again after `response` (429 or transient 5xx) on retry
    /// round `attempt`: Retry-After, else the backoff. nullopt: do not ask again (Retry-After
    /// longer than the policy allows).
    std::optional<sys::Duration> retry_delay(const sys::HttpResponse& response, int attempt,
                                             const std::string& registry);
    /// The digest a manifest HEAD answered for `ref` (a GET when the answer has none).
    sys::Result<std::string> digest_of(const ImageRef& ref,
                                       const sys::Result<sys::HttpResponse>& head);
    sys::HttpRequest manifest_request(const ImageRef& ref, const std::string& method) const;
    sys::Result<Token> fetch_token(const ImageRef& ref, const AuthChallenge& challenge,
                                   const std::optional<Credentials>& creds);
    /// One request with retries of 429 and transient 5xx answers (Retry-After honoured for 429
    /// and 503). Returns the last response, which may still be one of those.
    sys::Result<sys::HttpResponse> send_retrying(const sys::HttpRequest& request,
                                                 const std::string& registry);
    sys::Result<sys::HttpResponse> request_manifest(const ImageRef& ref, const std::string& method);
    /// The referrers API's pages for `digest`; nullopt when the registry answers 404 (no API).
    sys::Result<std::optional<std::vector<Referrer>>> referrers_api(
        const ImageRef& ref, const std::string& digest, const std::string& artifact_type);

    sys::HttpClient& m_http;
    std::vector<config::Registry> m_registries;
    std::unique_ptr<sys::Clock> m_own_clock;
    sys::Clock& m_clock;
    RetryPolicy m_retry;
    const DockerCredentials* m_docker = nullptr;
    std::mt19937 m_random{std::random_device{}()};
    /// Bearer tokens by (registry, scope).
    std::shared_ptr<TokenCache> m_tokens = std::make_shared<TokenCache>();
    /// Registries that answered with a Basic challenge: credentials are sent up front.
    std::set<std::string> m_basic_registries;
};

}  // namespace agentd::sources
