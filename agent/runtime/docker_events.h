#pragma once
// runtime::EngineWatch over the Docker Engine's event stream (GET /events on its unix socket).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/runtime/engine.h"
#include "agent/sys/result.h"

namespace agentd::runtime {

/// The path and query of GET /events for the kill and stop events of `project`'s containers
/// logged from `since` on. `since` matters: the engine sends the answer's headers before it
/// subscribes the stream, and an event logged in between would be missed without it; set it to
/// when the request is made, so that nothing from before (compose's own stops) is replayed.
std::string events_path(const std::string& project, std::chrono::system_clock::time_point since);

/// One line of the stream: a container event, or nullopt for anything else (another type of
/// event, a malformed line).
std::optional<ContainerEvent> parse_container_event(std::string_view line);

/// Reads the stream through a curl handle of its own, driven by curl's multi interface without
/// a thread: each read() takes what the socket holds, so once the engine has closed the stream
/// (it went away) the next read() says so.
class DockerEventWatch final : public EngineWatch {
public:
    /// Connects to `socket_path` and GETs `url` (http://localhost/v1.41/events?...), waiting up
    /// to `timeout` for the answer's headers. An error unless the engine answers 200.
    static sys::Result<std::unique_ptr<EngineWatch>> open(const std::string& socket_path,
                                                          const std::string& url,
                                                          sys::Duration timeout);
    ~DockerEventWatch() override;
    DockerEventWatch(const DockerEventWatch&) = delete;
    DockerEventWatch& operator=(const DockerEventWatch&) = delete;

    EngineEvents read(sys::Duration wait) override;

private:
    DockerEventWatch() = default;
    /// Moves what the socket holds into m_events; sets m_ended when the transfer is over.
    void pump();
    static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* self);
    void take(std::string_view chunk);

    void* m_multi = nullptr;  // CURLM*
    void* m_easy = nullptr;   // CURL*
    std::string m_line;       // the bytes after the last newline
    std::string m_refusal;    // the body of an answer other than 200 (capped)
    std::vector<ContainerEvent> m_events;
    bool m_ended = false;
    std::string m_error;             // why the transfer ended, when curl says
    char m_error_buffer[256] = {0};  // CURL_ERROR_SIZE
};

}  // namespace agentd::runtime
