#include "agent/sources/registry_client.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/sources/credential_file.h"
#include "agent/sources/registry_answers.h"
#include "agent/sources/registry_headers.h"
#include "agent/sys/files.h"
#include "agent/sys/log.h"
#include "agent/sys/net.h"
#include "agent/sys/quote.h"
#include "agent/sys/url.h"

namespace agentd::sources {

namespace {

// Every manifest type a tag may point to, so the registry answers with the digest Docker
// would pull (an index for multi-platform images). Without these, registry 2.8 answers an
// index with 404 and rewrites a v2 manifest to schema 1, whose digest nobody pulls.
constexpr std::string_view k_manifest_accept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
// The distribution registry refuses manifests above 4 MiB; anything larger is not one.
constexpr std::size_t k_max_manifest_size = 4 * 1024 * 1024;
// Bounds on what a WWW-Authenticate challenge may ask us to send: far above any real one.
constexpr std::size_t k_max_realm_size = 2048;
constexpr std::size_t k_max_service_size = 512;
// A bound on tags/list pages so a misbehaving registry cannot keep us looping.
constexpr int k_max_tag_pages = 1000;
// The same for referrers pages: a page holds many descriptors, an image has a few referrers.
constexpr int k_max_referrer_pages = 16;
constexpr std::string_view k_index_media_type = "application/vnd.oci.image.index.v1+json";

// HttpResponse::header with a case-insensitive match, so any HttpClient works.
std::optional<std::string> find_header(const sys::HttpResponse& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
        if (ascii_lower(key) == name) {
            return value;
        }
    }
    return std::nullopt;
}

std::vector<std::string> all_headers(const sys::HttpResponse& response, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [key, value] : response.headers) {
        if (ascii_lower(key) == name) {
            out.push_back(value);
        }
    }
    return out;
}

/// The token scope of a pull of ref's repository.
std::string scope_of(const ImageRef& ref) {
    return fmt::format("repository:{}:pull", ref.repository);
}

void set_authorization(sys::HttpRequest& request, std::string value) {
    std::erase_if(request.headers,
                  [](const auto& h) { return ascii_lower(h.first) == "authorization"; });
    request.headers.emplace_back("Authorization", std::move(value));
}

// Scheme and authority of an absolute http(s) URL, or nullopt.
std::optional<std::pair<std::string, std::string>> split_url(std::string_view url) {
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string scheme = ascii_lower(url.substr(0, sep));
    if (scheme != "http" && scheme != "https") {
        return std::nullopt;
    }
    const std::string_view rest = url.substr(sep + 3);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
        return std::nullopt;
    }
    return std::make_pair(scheme, std::string(authority));
}

// Tokens and URLs from the network go into header lines: refuse anything that could break one.
bool printable(std::string_view s) {
    for (char c : s) {
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return !s.empty();
}

bool valid_registry_host(std::string_view host) {
    if (host.empty()) {
        return false;
    }
    for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' || c == '[' ||
                        c == ']';
        if (!ok) {
            return false;
        }
    }
    return true;
}

sys::Error status_error(const ImageRef& ref, const sys::HttpResponse& response,
                        std::string_view what) {
    if (response.status == 401 || response.status == 403) {
        return sys::Error::unauthorized(fmt::format("registry {} refused access to {} (HTTP {})",
                                                    ref.registry, ref.repository, response.status));
    }
    // A 429 or 503 still here asked for a longer wait than we allow: say how long.
    std::string retry;
    if (const auto after = find_header(response, "retry-after");
        after && after->size() <= 64 &&
        std::all_of(after->begin(), after->end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
        retry = fmt::format(" (Retry-After: {})", *after);
    }
    return sys::Error::failed(fmt::format("registry {} answered HTTP {} to {} of {}{}",
                                          ref.registry, response.status, what, ref.repository,
                                          retry));
}

/// The answer to GET `what` (a manifest or blob) is its content: NotFound for a 404, the
/// registry's refusal for another status, Failed for a body above `max_size` bytes.
sys::Result<void> check_get(const ImageRef& ref, const sys::HttpResponse& response,
                            std::string_view what, std::size_t max_size) {
    if (response.status == 404) {
        return sys::Error::not_found(fmt::format("{} not found in {}", what, ref.familiar_name()));
    }
    if (response.status != 200) {
        return status_error(ref, response, fmt::format("GET {}", what));
    }
    if (response.body.size() > max_size) {
        return sys::Error::failed(fmt::format("registry {}: {} of {} is larger than {} bytes",
                                              ref.registry, what, ref.repository, max_size));
    }
    return {};
}

}  // namespace

RegistryClient::RegistryClient(sys::HttpClient& http, std::vector<config::Registry> registries)
    : m_http(http),
      m_registries(std::move(registries)),
      m_own_clock(std::make_unique<sys::SystemClock>()),
      m_clock(*m_own_clock) {}

RegistryClient::RegistryClient(sys::HttpClient& http, std::vector<config::Registry> registries,
                               sys::Clock& clock)
    : m_http(http), m_registries(std::move(registries)), m_clock(clock) {}

const config::Registry* RegistryClient::find_entry(const ImageRef& ref) const {
    for (const auto& entry : m_registries) {
        if (entry.host == ref.registry || entry.host == ref.auth_host()) {
            return &entry;
        }
    }
    return nullptr;
}

std::string RegistryClient::base_url(const ImageRef& ref) const {
    // Plain HTTP only when configured (config validation allows it for loopback hosts only),
    // or for a loopback registry that has no entry at all: that is how the test registry and
    // a local `docker-registry` are reached, and Docker itself talks plain HTTP to 127.0.0.0/8.
    // A loopback host with an entry but without insecure_http uses TLS (e.g. with a ca_file).
    const config::Registry* entry = find_entry(ref);
    const bool plain =
        entry != nullptr ? entry->insecure_http : sys::is_loopback_authority(ref.registry);
    return fmt::format("{}://{}", plain ? "http" : "https", ref.registry);
}

sys::Result<std::optional<RegistryClient::Credentials>> RegistryClient::credentials(
    const ImageRef& ref) const {
    const config::Registry* entry = find_entry(ref);
    if (entry == nullptr || entry->username.empty()) {
        // No credentials of our own (an entry may set only ca_file or insecure_http): what
        // `docker login` stored, as Docker keeps TLS settings and credentials apart too.
        if (m_docker == nullptr) {
            return std::optional<Credentials>{};
        }
        return m_docker->lookup(ref.auth_host());
    }
    Credentials creds{entry->username, {}};
    if (!entry->password_file.empty()) {
        auto password = read_credential_file(entry->password_file, "password_file");
        if (!password) {
            return sys::Error::failed(
                fmt::format("registry {}: {}", ref.registry, password.error().message));
        }
        creds.password = std::move(*password);
    }
    return std::optional<Credentials>{std::move(creds)};
}

sys::Result<RegistryClient::Token> RegistryClient::fetch_token(
    const ImageRef& ref, const AuthChallenge& challenge, const std::optional<Credentials>& creds) {
    const auto realm_it = challenge.params.find("realm");
    if (realm_it == challenge.params.end() || !printable(realm_it->second) ||
        realm_it->second.size() > k_max_realm_size) {
        return sys::Error::failed(fmt::format(
            "registry {}: Bearer challenge without a usable realm{}", ref.registry,
            realm_it == challenge.params.end() ? "" : ": " + sys::quoted(realm_it->second)));
    }
    const std::string& realm = realm_it->second;
    const std::string shown_realm = sys::quoted(realm);
    // Credentials go to the realm: never over plain HTTP except to a loopback token service.
    const auto parts = split_url(realm);
    if (!parts || (parts->first == "http" && !sys::is_loopback_authority(parts->second))) {
        return sys::Error::failed(fmt::format("registry {}: token realm {} is not an https URL",
                                              ref.registry, shown_realm));
    }
    // The challenge's own scope is not used: the scope asked for is always pull of ref's
    // repository, so a registry cannot make us ask for more (or for another repository).
    const auto service = challenge.params.find("service");
    if (service != challenge.params.end() && service->second.size() > k_max_service_size) {
        return sys::Error::failed(fmt::format("registry {}: Bearer challenge with a service of {}",
                                              ref.registry, sys::quoted(service->second)));
    }
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    if (service != challenge.params.end()) {
        url += fmt::format("service={}&", sys::url_encode(service->second));
    }
    url += "scope=" + sys::url_encode(scope_of(ref));

    sys::HttpRequest request;
    request.url = url;
    if (const config::Registry* entry = find_entry(ref); entry != nullptr) {
        // A private registry's token service is normally served under the same CA.
        request.ca_file = entry->ca_file.string();
    }
    if (creds) {
        set_authorization(request, basic_authorization(creds->username, creds->password));
    }
    auto response = send_retrying(request, ref.registry);
    if (!response) {
        return sys::Error::failed(fmt::format("registry {}: token service {}: {}", ref.registry,
                                              shown_realm, response.error().message));
    }
    if (response->status == 401 || response->status == 403) {
        return sys::Error::unauthorized(
            fmt::format("registry {}: token service {} refused the credentials (HTTP {})",
                        ref.registry, shown_realm, response->status));
    }
    if (response->status != 200) {
        return sys::Error::failed(fmt::format("registry {}: token service {} answered HTTP {}",
                                              ref.registry, shown_realm, response->status));
    }
    auto answer = parse_token_answer(response->body);
    if (!answer) {
        return sys::Error::failed(fmt::format("registry {}: token service {} answered {}",
                                              ref.registry, shown_realm, answer.error().message));
    }
    if (!printable(answer->token)) {
        return sys::Error::failed(
            fmt::format("registry {}: token service {} answered with a token that is not "
                        "printable ASCII",
                        ref.registry, shown_realm));
    }
    Token token;
    token.value = std::move(answer->token);
    const std::chrono::milliseconds lifetime = answer->lifetime;
    // Count from the earlier of issued_at and now: a token service with a clock ahead of ours
    // must not make us keep a token past its real expiry.
    sys::TimePoint start = m_clock.now();
    if (answer->issued_at && *answer->issued_at < start) {
        start = *answer->issued_at;
    }
    token.expires = start + lifetime;
    spdlog::debug("registry {}: got a token for {} valid for {}", ref.registry, ref.repository,
                  sys::format_duration(lifetime));
    return token;
}

sys::Result<void> RegistryClient::authorize(const ImageRef& ref, sys::HttpRequest& request,
                                            Attempt& attempt) {
    if (const config::Registry* entry = find_entry(ref); entry != nullptr) {
        request.ca_file = entry->ca_file.string();
    }
    // Known schemes are answered up front, so a cached token costs one request, not two.
    attempt.token = m_tokens->find(ref.registry, scope_of(ref), m_clock.now());
    if (attempt.token) {
        set_authorization(request, "Bearer " + *attempt.token);
        return {};
    }
    if (m_basic_registries.count(ref.registry) != 0) {
        auto creds = credentials(ref);
        if (!creds) {
            return creds.error();
        }
        if (*creds) {
            set_authorization(request, basic_authorization((*creds)->username, (*creds)->password));
            attempt.sent_basic = true;
        }
    }
    return {};
}

sys::Result<bool> RegistryClient::answer_challenge(const ImageRef& ref,
                                                   const sys::HttpResponse& response,
                                                   sys::HttpRequest& request, Attempt& attempt) {
    const std::string scope = scope_of(ref);
    if (attempt.token) {
        m_tokens->drop(ref.registry, scope, *attempt.token);  // revoked or expired early
    }
    // Another request of the batch may have answered the same challenge already.
    if (auto token = m_tokens->find(ref.registry, scope, m_clock.now());
        token && token != attempt.token) {
        set_authorization(request, "Bearer " + *token);
        return true;
    }
    std::optional<AuthChallenge> bearer;
    std::optional<AuthChallenge> basic;
    for (const auto& header : all_headers(response, "www-authenticate")) {
        for (auto& challenge : parse_www_authenticate(header)) {
            if (challenge.scheme == "bearer" && !bearer) {
                bearer = std::move(challenge);
            } else if (challenge.scheme == "basic" && !basic) {
                basic = std::move(challenge);
            }
        }
    }
    auto creds = credentials(ref);
    if (!creds) {
        return creds.error();
    }
    if (bearer) {
        auto token = fetch_token(ref, *bearer, *creds);
        if (!token) {
            return token.error();
        }
        set_authorization(request, "Bearer " + token->value);
        m_tokens->store(ref.registry, scope, std::move(*token));
        return true;
    }
    if (basic) {
        if (!*creds) {
            return sys::Error::unauthorized(
                fmt::format("registry {} requires credentials for {} and none are configured",
                            ref.registry, ref.repository));
        }
        m_basic_registries.insert(ref.registry);
        set_authorization(request, basic_authorization((*creds)->username, (*creds)->password));
        return true;
    }
    return false;  // no challenge we can answer: the caller reports the 401
}

sys::Result<sys::HttpResponse> RegistryClient::send_authorized(const ImageRef& ref,
                                                               sys::HttpRequest request) {
    std::vector<sys::HttpRequest> requests;
    requests.push_back(std::move(request));
    return std::move(send_authorized_all({&ref}, std::move(requests)).front());
}

std::vector<sys::Result<sys::HttpResponse>> RegistryClient::send_authorized_all(
    const std::vector<const ImageRef*>& refs, std::vector<sys::HttpRequest> requests) {
    const std::size_t n = requests.size();
    std::vector<std::optional<sys::Result<sys::HttpResponse>>> results(n);
    std::vector<Attempt> attempts(n);
    std::map<std::string, std::size_t> limits;  // by URL host
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < n; ++i) {
        const config::Registry* entry = find_entry(*refs[i]);
        limits[sys::url_host(requests[i].url)] = entry != nullptr
                                                     ? entry->max_concurrent_requests
                                                     : config::k_default_concurrent_requests;
        if (auto ok = authorize(*refs[i], requests[i], attempts[i]); !ok) {
            results[i] = ok.error();
        } else {
            pending.push_back(i);
        }
    }
    const sys::HostLimit limit = [&limits](std::string_view host) {
        const auto found = limits.find(std::string(host));
        return found != limits.end() ? found->second : std::size_t{1};
    };

    // Rounds: every request whose registry is not waiting goes out together; a registry that
    // answered 429 or a transient 5xx waits before its requests are asked again, the others
    // go on. A 401 is answered (token or Basic) once per request and asked again.
    std::map<std::string, sys::TimePoint> not_before;  // by registry
    std::map<std::string, int> retry_round;            // by registry
    while (!pending.empty()) {
        const sys::TimePoint now = m_clock.now();
        std::vector<std::size_t> batch;
        std::vector<std::size_t> held;
        std::optional<sys::TimePoint> earliest;
        for (const std::size_t i : pending) {
            const auto wait = not_before.find(refs[i]->registry);
            if (wait == not_before.end() || wait->second <= now) {
                batch.push_back(i);
            } else {
                held.push_back(i);
                earliest = earliest ? std::min(*earliest, wait->second) : wait->second;
            }
        }
        if (batch.empty()) {
            m_clock.sleep_for(std::chrono::ceil<sys::Duration>(*earliest - now));
            continue;
        }
        std::vector<sys::HttpRequest> round;
        round.reserve(batch.size());
        for (const std::size_t i : batch) {
            round.push_back(requests[i]);
        }
        auto responses = m_http.send_all(round, limit);
        struct Backoff {
            sys::Duration delay{};
            long status = 0;
            std::size_t requests = 0;
        };
        std::map<std::string, Backoff> backoffs;  // by registry
        for (std::size_t k = 0; k < batch.size(); ++k) {
            const std::size_t i = batch[k];
            const ImageRef& ref = *refs[i];
            auto& response = responses[k];
            Attempt& attempt = attempts[i];
            if (!response) {
                results[i] = sys::Error::failed(
                    fmt::format("registry {}: {}", ref.registry, response.error().message));
                continue;
            }
            if (response->status == 401 && !attempt.challenged && !attempt.sent_basic) {
                attempt.challenged = true;
                auto answered = answer_challenge(ref, *response, requests[i], attempt);
                if (!answered) {
                    results[i] = answered.error();
                } else if (!*answered) {
                    results[i] = std::move(response);
                } else {
                    held.push_back(i);
                }
                continue;
            }
            if (retryable_status(response->status) && attempt.retries < m_retry.retries) {
                if (const auto delay =
                        retry_delay(*response, retry_round[ref.registry], ref.registry)) {
                    ++attempt.retries;
                    auto& backoff = backoffs[ref.registry];
                    backoff.delay = std::max(backoff.delay, *delay);
                    backoff.status = response->status;
                    ++backoff.requests;
                    held.push_back(i);
                    continue;
                }
            }
            results[i] = std::move(response);
        }
        for (const auto& [registry, backoff] : backoffs) {
            spdlog::warn("registry {}: HTTP {} to {} request{}, retry {} of {} in {}", registry,
                         backoff.status, backoff.requests, backoff.requests == 1 ? "" : "s",
                         retry_round[registry] + 1, m_retry.retries,
                         sys::format_duration(backoff.delay));
            ++retry_round[registry];
            not_before[registry] = m_clock.now() + backoff.delay;
        }
        std::sort(held.begin(), held.end());
        pending = std::move(held);
    }
    std::vector<sys::Result<sys::HttpResponse>> out;
    out.reserve(n);
    for (auto& result : results) {
        out.push_back(std::move(*result));
    }
    return out;
}

std::optional<sys::Duration> RegistryClient::retry_delay(const sys::HttpResponse& response,
                                                         int attempt, const std::string& registry) {
    sys::Duration delay = backoff_delay(m_retry, attempt, m_random);
    if (response.status == 429 || response.status == 503) {
        if (const auto after = retry_after(response, m_clock.now())) {
            if (*after > m_retry.max_retry_after) {
                spdlog::warn("registry {}: HTTP {} asks to retry after {}; not waiting", registry,
                             response.status, sys::format_duration(*after));
                return std::nullopt;
            }
            delay = *after;
        }
    }
    return delay;
}

sys::Result<sys::HttpResponse> RegistryClient::send_retrying(const sys::HttpRequest& request,
                                                             const std::string& registry) {
    for (int attempt = 0;; ++attempt) {
        auto response = m_http.send(request);
        if (!response || !retryable_status(response->status) || attempt >= m_retry.retries) {
            return response;
        }
        const auto delay = retry_delay(*response, attempt, registry);
        if (!delay) {
            return response;
        }
        spdlog::warn("registry {}: HTTP {}, retry {} of {} in {}", registry, response->status,
                     attempt + 1, m_retry.retries, sys::format_duration(*delay));
        m_clock.sleep_for(*delay);
    }
}

sys::HttpRequest RegistryClient::manifest_request(const ImageRef& ref,
                                                  const std::string& method) const {
    sys::HttpRequest request;
    request.method = method;
    request.url = fmt::format("{}/v2/{}/manifests/{}", base_url(ref), ref.repository,
                              ref.digest.empty() ? ref.tag : ref.digest);
    request.headers.emplace_back("Accept", std::string(k_manifest_accept));
    if (method == "GET") {
        request.max_body = k_max_manifest_size;
    }
    return request;
}

sys::Result<sys::HttpResponse> RegistryClient::request_manifest(const ImageRef& ref,
                                                                const std::string& method) {
    return send_authorized(ref, manifest_request(ref, method));
}

namespace {

sys::Result<void> check_ref(const ImageRef& ref) {
    if (!valid_registry_host(ref.registry) || !valid_repository(ref.repository) ||
        (!ref.tag.empty() && !valid_tag(ref.tag)) ||
        (!ref.digest.empty() && !valid_digest(ref.digest))) {
        return sys::Error::invalid(fmt::format(
            "invalid image reference {}",
            sys::quoted(fmt::format("{}/{}:{}", ref.registry, ref.repository, ref.tag))));
    }
    return {};
}

/// What a manifest request for `ref` asks for, for messages: "tag 1.2" or "manifest sha256:...".
/// InvalidInput for a reference that cannot be asked for (check_ref), or names neither.
sys::Result<std::string> manifest_name(const ImageRef& ref) {
    if (auto ok = check_ref(ref); !ok) {
        return ok.error();
    }
    if (ref.tag.empty() && ref.digest.empty()) {
        return sys::Error::invalid(
            fmt::format("image {} has neither a tag nor a digest", ref.familiar_name()));
    }
    return ref.digest.empty() ? fmt::format("tag {}", ref.tag)
                              : fmt::format("manifest {}", ref.digest);
}

}  // namespace

sys::Result<std::string> RegistryClient::resolve_digest(const ImageRef& ref) {
    return std::move(resolve_digests({ref}).front());
}

std::vector<sys::Result<std::string>> RegistryClient::resolve_digests(
    const std::vector<ImageRef>& refs) {
    std::vector<std::optional<sys::Result<std::string>>> digests(refs.size());
    std::vector<const ImageRef*> asked;
    std::vector<sys::HttpRequest> heads;
    std::vector<std::size_t> places;
    for (std::size_t i = 0; i < refs.size(); ++i) {
        if (auto named = manifest_name(refs[i]); !named) {
            digests[i] = named.error();
            continue;
        }
        asked.push_back(&refs[i]);
        heads.push_back(manifest_request(refs[i], "HEAD"));
        places.push_back(i);
    }
    auto answers = send_authorized_all(asked, std::move(heads));
    for (std::size_t k = 0; k < places.size(); ++k) {
        digests[places[k]] = digest_of(refs[places[k]], answers[k]);
    }
    std::vector<sys::Result<std::string>> out;
    out.reserve(refs.size());
    for (auto& digest : digests) {
        out.push_back(std::move(*digest));
    }
    return out;
}

sys::Result<std::string> RegistryClient::digest_of(const ImageRef& ref,
                                                   const sys::Result<sys::HttpResponse>& head) {
    auto named = manifest_name(ref);
    if (!named) {
        return named.error();
    }
    const std::string& what = *named;
    const auto not_found = [&] {
        return sys::Error::not_found(fmt::format("{} not found in {}", what, ref.familiar_name()));
    };
    const auto checked = [&](std::string digest) -> sys::Result<std::string> {
        if (!ref.digest.empty() && digest != ref.digest) {
            return sys::Error::failed(
                fmt::format("registry {} answered digest {} for {}", ref.registry, digest, what));
        }
        return digest;
    };

    if (!head) {
        return head.error();
    }
    if (head->status == 404) {
        return not_found();
    }
    const bool head_unusable = head->status == 405 || head->status == 501;
    if (head->status != 200 && !head_unusable) {
        return status_error(ref, *head, "HEAD " + what);
    }
    if (head->status == 200) {
        if (auto digest = find_header(*head, "docker-content-digest")) {
            if (!valid_digest(*digest)) {
                return sys::Error::failed(
                    fmt::format("registry {} answered an invalid Docker-Content-Digest for {}",
                                ref.registry, what));
            }
            return checked(std::move(*digest));
        }
    }

    // No digest header (or no HEAD): hash the manifest ourselves.
    auto manifest = get_manifest(ref);
    if (!manifest) {
        return manifest.error();
    }
    // Hash only what is a manifest: an error page or a body cut short would otherwise become a
    // digest that the release pins and nobody can pull.
    if (const auto doc = nlohmann::json::parse(manifest->body, nullptr, false);
        !doc.is_object() || !doc.contains("schemaVersion") ||
        !doc["schemaVersion"].is_number_integer()) {
        return sys::Error::failed(
            fmt::format("registry {}: the answer for {} of {} is not a manifest (no JSON object "
                        "with a schemaVersion)",
                        ref.registry, what, ref.repository));
    }
    return checked(std::move(manifest->digest));
}

sys::Result<std::vector<std::string>> RegistryClient::list_tags(const ImageRef& ref) {
    if (auto ok = check_ref(ref); !ok) {
        return ok.error();
    }
    const std::string base = base_url(ref);
    std::string url = fmt::format("{}/v2/{}/tags/list", base, ref.repository);
    std::set<std::string> visited;
    std::vector<std::string> tags;
    for (int page = 0; page < k_max_tag_pages; ++page) {
        if (!visited.insert(url).second) {
            return sys::Error::failed(fmt::format("registry {}: tag list pagination of {} loops",
                                                  ref.registry, ref.repository));
        }
        sys::HttpRequest request;
        request.url = url;
        auto response = send_authorized(ref, std::move(request));
        if (!response) {
            return response.error();
        }
        if (response->status == 404) {
            return sys::Error::not_found(
                fmt::format("repository {} not found", ref.familiar_name()));
        }
        if (response->status != 200) {
            return status_error(ref, *response, "the tag list");
        }
        auto page_tags = parse_tag_page(response->body);
        if (!page_tags) {
            return sys::Error::failed(fmt::format("registry {}: malformed tag list for {}: {}",
                                                  ref.registry, ref.repository,
                                                  page_tags.error().message));
        }
        std::vector<std::string> skipped;
        for (auto& text : *page_tags) {
            if (valid_tag(text)) {
                tags.push_back(std::move(text));
            } else {
                skipped.push_back(std::move(text));
            }
        }
        if (!skipped.empty()) {
            // One line per page, naming a few: a hostile list must not flood the log.
            std::string shown;
            for (std::size_t i = 0; i < skipped.size() && i < 3; ++i) {
                shown += (i == 0 ? "" : ", ") + sys::quoted(skipped[i]);
            }
            spdlog::warn(
                "registry {}: skipping {} invalid tag(s) of {} ({}{}): a tag is "
                "[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}",
                ref.registry, skipped.size(), ref.repository, shown,
                skipped.size() > 3 ? ", ..." : "");
        }
        const auto link = find_header(*response, "link");
        const auto next = link ? parse_next_link(*link) : std::nullopt;
        if (!next) {
            return tags;
        }
        // Follow only links on the same registry: our credentials must not go elsewhere.
        if (!next->empty() && next->front() == '/' && printable(*next)) {
            url = base + *next;
        } else if (next->rfind(base + "/", 0) == 0 && printable(*next)) {
            url = *next;
        } else {
            return sys::Error::failed(fmt::format(
                "registry {}: tag list of {} links to another host", ref.registry, ref.repository));
        }
    }
    return sys::Error::failed(fmt::format("registry {}: tag list of {} has more than {} pages",
                                          ref.registry, ref.repository, k_max_tag_pages));
}

sys::Result<Manifest> RegistryClient::get_manifest(const ImageRef& ref) {
    auto named = manifest_name(ref);
    if (!named) {
        return named.error();
    }
    const std::string& what = *named;
    auto get = request_manifest(ref, "GET");
    if (!get) {
        return get.error();
    }
    if (auto ok = check_get(ref, *get, what, k_max_manifest_size); !ok) {
        return ok.error();
    }
    Manifest manifest;
    manifest.digest = "sha256:" + sys::sha256_hex(get->body);
    if (auto claimed = find_header(*get, "docker-content-digest");
        claimed && *claimed != manifest.digest) {
        return sys::Error::failed(
            fmt::format("registry {}: manifest for {} hashes to {} but the registry says {}",
                        ref.registry, what, manifest.digest, sys::quoted(*claimed)));
    }
    if (!ref.digest.empty() && manifest.digest != ref.digest) {
        return sys::Error::failed(fmt::format("registry {}: manifest {} of {} hashes to {}",
                                              ref.registry, ref.digest, ref.repository,
                                              manifest.digest));
    }
    if (auto type = find_header(*get, "content-type"); type && printable(*type)) {
        manifest.media_type = std::move(*type);
    }
    manifest.body = std::move(get->body);
    return manifest;
}

sys::Result<std::string> RegistryClient::get_blob(const ImageRef& ref, const std::string& digest,
                                                  std::size_t max_size) {
    if (auto ok = check_ref(ref); !ok) {
        return ok.error();
    }
    if (!valid_digest(digest)) {
        return sys::Error::invalid(
            fmt::format("invalid blob digest {} for {}", sys::quoted(digest), ref.familiar_name()));
    }
    const std::string what = fmt::format("blob {}", digest);
    sys::HttpRequest request;
    request.url = fmt::format("{}/v2/{}/blobs/{}", base_url(ref), ref.repository, digest);
    request.max_body = max_size;
    auto get = send_authorized(ref, std::move(request));
    if (!get) {
        return get.error();
    }
    if (auto ok = check_get(ref, *get, what, max_size); !ok) {
        return ok.error();
    }
    if (const std::string actual = "sha256:" + sys::sha256_hex(get->body); actual != digest) {
        return sys::Error::failed(fmt::format("registry {}: {} of {} hashes to {}", ref.registry,
                                              what, ref.repository, actual));
    }
    return std::move(get->body);
}

namespace {

// A media type as an artifactType filter: printable ASCII without blanks, of a sane length
// (the URL encoding then makes any of it safe in the query).
bool valid_artifact_type(std::string_view type) {
    return type.size() <= 255 && (type.empty() || printable(type));
}

std::vector<Referrer> of_type(std::vector<Referrer> referrers, const std::string& artifact_type) {
    if (!artifact_type.empty()) {
        std::erase_if(referrers,
                      [&](const Referrer& r) { return r.artifact_type != artifact_type; });
    }
    return referrers;
}

}  // namespace

sys::Result<std::optional<std::vector<Referrer>>> RegistryClient::referrers_api(
    const ImageRef& ref, const std::string& digest, const std::string& artifact_type) {
    const std::string base = base_url(ref);
    std::string url = fmt::format("{}/v2/{}/referrers/{}", base, ref.repository, digest);
    if (!artifact_type.empty()) {
        url += "?artifactType=" + sys::url_encode(artifact_type);
    }
    std::set<std::string> visited;
    std::vector<Referrer> out;
    for (int page = 0; page < k_max_referrer_pages; ++page) {
        if (!visited.insert(url).second) {
            return sys::Error::failed(fmt::format("registry {}: referrers pagination of {} loops",
                                                  ref.registry, ref.repository));
        }
        sys::HttpRequest request;
        request.url = url;
        request.headers.emplace_back("Accept", std::string(k_index_media_type));
        request.max_body = k_max_manifest_size;
        auto response = send_authorized(ref, std::move(request));
        if (!response) {
            return response.error();
        }
        if (response->status == 404 && page == 0) {
            return std::optional<std::vector<Referrer>>{};  // no referrers API here
        }
        if (response->status != 200) {
            return status_error(ref, *response, fmt::format("the referrers of {}", digest));
        }
        if (response->body.size() > k_max_manifest_size) {
            return sys::Error::failed(
                fmt::format("registry {}: the referrers of {} in {} are "
                            "larger than 4 MiB",
                            ref.registry, digest, ref.repository));
        }
        auto listed = parse_referrers_index(response->body);
        if (!listed) {
            return sys::Error::failed(fmt::format("registry {}: the referrers of {} in {}: {}",
                                                  ref.registry, digest, ref.repository,
                                                  listed.error().message));
        }
        for (auto& referrer : *listed) {
            out.push_back(std::move(referrer));
        }
        const auto link = find_header(*response, "link");
        const auto next = link ? parse_next_link(*link) : std::nullopt;
        if (!next) {
            return std::optional<std::vector<Referrer>>{std::move(out)};
        }
        // As for tag lists: only links on the same registry, our credentials go nowhere else.
        if (!next->empty() && next->front() == '/' && printable(*next)) {
            url = base + *next;
        } else if (next->rfind(base + "/", 0) == 0 && printable(*next)) {
            url = *next;
        } else {
            return sys::Error::failed(fmt::format(
                "registry {}: the referrers of {} link to another host", ref.registry, digest));
        }
    }
    return sys::Error::failed(
        fmt::format("registry {}: the referrers of {} in {} have more than "
                    "{} pages",
                    ref.registry, digest, ref.repository, k_max_referrer_pages));
}

sys::Result<std::vector<Referrer>> RegistryClient::referrers(const ImageRef& ref,
                                                             const std::string& digest,
                                                             const std::string& artifact_type) {
    if (auto ok = check_ref(ref); !ok) {
        return ok.error();
    }
    if (!valid_digest(digest)) {
        return sys::Error::invalid(fmt::format("invalid digest {} for the referrers of {}",
                                               sys::quoted(digest), ref.familiar_name()));
    }
    if (!valid_artifact_type(artifact_type)) {
        return sys::Error::invalid(
            fmt::format("invalid artifact type {}", sys::quoted(artifact_type)));
    }
    auto api = referrers_api(ref, digest, artifact_type);
    if (!api) {
        return api.error();
    }
    if (*api) {
        return of_type(std::move(**api), artifact_type);
    }

    // No referrers API (registry 2.8, many mirrors): the referrers tag schema, an image index
    // tagged "sha256-<hex>" that pushers keep up to date (OCI distribution 1.1).
    ImageRef tag_ref = ref;
    tag_ref.digest.clear();
    tag_ref.tag = digest;
    tag_ref.tag[digest.find(':')] = '-';
    auto index = get_manifest(tag_ref);
    if (!index) {
        if (index.error().is_not_found()) {
            return std::vector<Referrer>{};
        }
        return index.error();
    }
    auto listed = parse_referrers_index(index->body);
    if (!listed) {
        return sys::Error::failed(fmt::format("registry {}: the referrers tag {} of {}: {}",
                                              ref.registry, tag_ref.tag, ref.repository,
                                              listed.error().message));
    }
    return of_type(std::move(*listed), artifact_type);
}

}  // namespace agentd::sources
