#include "agent/daemon/webhook_routes.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "agent/webhook/event.h"
#include "agent/webhook/headers.h"
#include "agent/webhook/provider.h"
#include "agent/webhook/signature.h"

namespace agentd::daemon {
namespace {

constexpr std::string_view k_prefix = "/webhooks/";

ApiReply error(int status, const std::string& message) {
    return {status, {{"error", message}}, "", ""};
}

}  // namespace

WebhookRoutes::WebhookRoutes(WebhookBackend& backend, webhook::RateLimiter::Limits limits)
    : m_backend(backend), m_limiter(limits) {}

bool WebhookRoutes::handles(const std::string& path) {
    return path.starts_with(k_prefix);
}

ApiReply WebhookRoutes::handle(const ApiRequest& request) {
    const auto arrived = std::chrono::steady_clock::now();
    const auto provider = webhook::provider_named(request.path.substr(k_prefix.size()));
    if (!provider) {
        return error(404, "not found");
    }
    if (request.method != "POST") {
        return error(405, "method not allowed: " + request.method);
    }
    {
        std::lock_guard lock(m_mutex);
        if (!m_limiter.allow(request.peer, m_backend.now())) {
            // Debug only: a flood must not flood the log too.
            spdlog::debug("webhook from {}: rate limited", request.peer);
            return error(429, "too many webhooks from this address; try again later");
        }
    }
    webhook::Headers headers;
    for (const auto& [name, value] : request.headers) {
        headers.set(name, value);
    }
    const auto secret = m_backend.secret();
    if (!secret) {
        spdlog::error("webhook: {}", secret.error().message);
        return error(500, "webhook secret unavailable");
    }
    if (auto checked = webhook::check_signature(*provider, *secret, headers, request.body);
        !checked) {
        spdlog::warn("webhook {} from {}: {}", webhook::to_string(*provider), request.peer,
                     checked.error().message);
        return error(401, checked.error().message);
    }
    const auto event = webhook::parse_event(*provider, headers, request.body);
    if (!event) {
        spdlog::warn("webhook {} from {}: {}", webhook::to_string(*provider), request.peer,
                     event.error().message);
        return error(400, event.error().message);
    }
    const std::string summary = webhook::summary(*event);
    if (event->kind == webhook::EventKind::Ping) {
        spdlog::info("webhook: {}: pong", summary);
        return {200, {{"status", "pong"}, {"delivery", event->delivery}}, "", ""};
    }
    const auto targets = m_backend.targets();
    if (!targets) {
        spdlog::error("webhook: {}: {}", summary, targets.error().message);
        return error(500, targets.error().message);
    }
    const auto matched = webhook::match(*event, *targets);
    if (matched.empty()) {
        spdlog::info("webhook: {}: ignored, names no configured stack", summary);
        return {202,
                {{"status", "ignored"},
                 {"delivery", event->delivery},
                 {"reason", "the event names no configured stack"}},
                "",
                ""};
    }
    nlohmann::json stacks = nlohmann::json::array();
    for (const auto& stack : matched) {
        if (m_backend.trigger(stack, arrived)) {
            stacks.push_back(stack);
        }
    }
    spdlog::info("webhook: {}: triggered {}", summary, stacks.dump());
    return {202, {{"status", "triggered"}, {"delivery", event->delivery}, {"stacks", stacks}}, "",
            ""};
}

}  // namespace agentd::daemon
