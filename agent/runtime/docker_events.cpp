#include "agent/runtime/docker_events.h"

#include <curl/curl.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/url.h"

namespace agentd::runtime {
namespace {

using nlohmann::json;

static_assert(CURL_ERROR_SIZE == 256, "m_error_buffer is sized for CURL_ERROR_SIZE");

/// A line longer than this is no event of the engine's: it is dropped.
constexpr std::size_t k_max_line = 1 << 20;
constexpr std::size_t k_max_refusal = 4096;

std::string attribute(const json& event, const char* name) {
    const json::json_pointer p(std::string("/Actor/Attributes/") + name);
    return event.contains(p) && event[p].is_string() ? event[p].get<std::string>() : std::string();
}

long milliseconds(std::chrono::nanoseconds d) {
    return static_cast<long>(std::max<sys::Duration::rep>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count(), 0));
}

}  // namespace

std::string events_path(const std::string& project, std::chrono::system_clock::time_point since) {
    const json filters = {{"type", {"container"}},
                          {"event", {"kill", "stop"}},
                          {"label", {"com.docker.compose.project=" + project}}};
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
    return fmt::format("/events?since={}.{:09}&filters={}", ns / 1'000'000'000, ns % 1'000'000'000,
                       sys::url_encode(filters.dump()));
}

std::optional<ContainerEvent> parse_container_event(std::string_view line) {
    const auto event = json::parse(line, nullptr, false);
    if (!event.is_object() || !event.contains("Type") || event["Type"] != "container" ||
        !event.contains("Action") || !event["Action"].is_string()) {
        return std::nullopt;
    }
    ContainerEvent e;
    e.action = event["Action"].get<std::string>();
    e.name = attribute(event, "name");
    e.service = attribute(event, "com.docker.compose.service");
    e.one_off = attribute(event, "com.docker.compose.oneoff") == "True";
    e.signal = attribute(event, "signal");
    return e;
}

sys::Result<std::unique_ptr<EngineWatch>> DockerEventWatch::open(const std::string& socket_path,
                                                                 const std::string& url,
                                                                 sys::Duration timeout) {
    std::unique_ptr<DockerEventWatch> watch(new DockerEventWatch());
    watch->m_multi = curl_multi_init();
    watch->m_easy = curl_easy_init();
    if (watch->m_multi == nullptr || watch->m_easy == nullptr) {
        return sys::Error::failed("events: libcurl could not be initialised");
    }
    auto* easy = static_cast<CURL*>(watch->m_easy);
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, socket_path.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, watch->m_error_buffer);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &DockerEventWatch::on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, watch.get());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(timeout));
    // No CURLOPT_TIMEOUT: the stream stays open as long as the watch.
    curl_multi_add_handle(static_cast<CURLM*>(watch->m_multi), easy);

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        watch->pump();
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200 && !watch->m_ended) {
            return std::unique_ptr<EngineWatch>(std::move(watch));
        }
        if (watch->m_ended) {
            if (status == 200) {
                return sys::Error::failed("events: the engine ended the stream at once");
            }
            if (status != 0) {
                return sys::Error::failed(fmt::format(
                    "events: HTTP {}: {}", status,
                    watch->m_refusal.substr(0, watch->m_refusal.find_last_not_of(" \n") + 1)));
            }
            return sys::Error::failed("events: " + watch->m_error);
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return sys::Error::failed(
                fmt::format("events: no answer within {}", sys::format_duration(timeout)));
        }
        curl_multi_poll(static_cast<CURLM*>(watch->m_multi), nullptr, 0,
                        static_cast<int>(milliseconds(deadline - now)), nullptr);
    }
}

DockerEventWatch::~DockerEventWatch() {
    if (m_multi != nullptr && m_easy != nullptr) {
        curl_multi_remove_handle(static_cast<CURLM*>(m_multi), static_cast<CURL*>(m_easy));
    }
    if (m_easy != nullptr) {
        curl_easy_cleanup(static_cast<CURL*>(m_easy));
    }
    if (m_multi != nullptr) {
        curl_multi_cleanup(static_cast<CURLM*>(m_multi));
    }
}

EngineEvents DockerEventWatch::read(sys::Duration wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
        pump();
        const auto now = std::chrono::steady_clock::now();
        if (!m_events.empty() || m_ended || now >= deadline) {
            break;
        }
        curl_multi_poll(static_cast<CURLM*>(m_multi), nullptr, 0,
                        static_cast<int>(std::max(milliseconds(deadline - now), 1L)), nullptr);
    }
    EngineEvents out;
    out.events.swap(m_events);
    out.ended = m_ended;
    return out;
}

void DockerEventWatch::pump() {
    if (m_ended) {
        return;
    }
    auto* multi = static_cast<CURLM*>(m_multi);
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
        m_ended = true;
        m_error = "libcurl failed";
        return;
    }
    if (running > 0) {
        return;
    }
    m_ended = true;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) {
            m_error = m_error_buffer[0] != '\0' ? std::string(m_error_buffer)
                                                : curl_easy_strerror(msg->data.result);
        }
    }
}

std::size_t DockerEventWatch::on_write(char* data, std::size_t size, std::size_t count,
                                       void* self) {
    static_cast<DockerEventWatch*>(self)->take(std::string_view(data, size * count));
    return size * count;
}

void DockerEventWatch::take(std::string_view chunk) {
    long status = 0;
    curl_easy_getinfo(static_cast<CURL*>(m_easy), CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        m_refusal.append(
            chunk.substr(0, k_max_refusal - std::min(k_max_refusal, m_refusal.size())));
        return;
    }
    // One JSON object per line (json.Encoder); a chunk may end inside one.
    m_line.append(chunk);
    std::size_t start = 0;
    std::size_t newline;
    while ((newline = m_line.find('\n', start)) != std::string::npos) {
        if (auto event =
                parse_container_event(std::string_view(m_line).substr(start, newline - start))) {
            m_events.push_back(std::move(*event));
        }
        start = newline + 1;
    }
    m_line.erase(0, start);
    if (m_line.size() > k_max_line) {
        m_line.clear();
    }
}

}  // namespace agentd::runtime
