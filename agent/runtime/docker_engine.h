#pragma once
// runtime::Engine over the Docker Engine API (HTTP on its unix socket).

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "agent/runtime/engine.h"
#include "agent/sys/http.h"

namespace agentd::runtime {

/// Talks to dockerd through `http` on `socket_path`. The API version is negotiated on first
/// use (GET /_ping's Api-Version, capped at the 1.41 this code is written against), because
/// the engines agentd meets range from Debian's 20.10 to current releases.
class DockerEngine final : public Engine {
public:
    explicit DockerEngine(sys::HttpClient& http, std::string socket_path = "/var/run/docker.sock");

    /// NotFound when the registry has no such manifest; Unauthorized when the registry refused
    /// the credentials (or wanted some); Failed for every other error, including the ones the
    /// engine reports inside a 200 progress stream. Credentials go in X-Registry-Auth only.
    sys::Result<void> pull(const std::string& reference,
                           const std::optional<RegistryCredentials>& credentials,
                           const PullObserver& progress) override;
    sys::Result<bool> has_image(const std::string& reference) override;
    sys::Result<void> remove_container(const std::string& id) override;
    sys::Result<void> stop_container(const std::string& id, sys::Duration grace) override;
    sys::Result<void> ensure_network(const std::string& name) override;
    /// POST /containers/ID/exec, then POST /exec/EXEC/start attached (the answer is the
    /// output, multiplexed in frames of an 8-byte header each), then GET /exec/EXEC/json for
    /// the exit code.
    sys::Result<ExecResult> exec(const std::string& id, const std::vector<std::string>& argv,
                                 sys::Duration timeout) override;
    /// POST /containers/ID/kill?signal=SIGNAL.
    sys::Result<void> signal(const std::string& id, const std::string& signal) override;
    /// GET /containers/ID/json's State.Pid.
    sys::Result<int> main_pid(const std::string& id) override;
    /// Sorted by service, then container name. Containers removed while being listed are left
    /// out.
    sys::Result<std::vector<ContainerState>> project_containers(
        const std::string& project) override;
    sys::Result<std::vector<ContainerSummary>> list_containers(const std::string& project) override;
    /// Inspects the image, lists the containers created from it (ancestor=ID), then DELETE
    /// /images/REFERENCE without force when there are none (a 409 is InUse too).
    sys::Result<ImageRemoval> remove_image(const std::string& reference) override;
    /// GET /events for the project's kill and stop events, on a connection of its own
    /// (DockerEventWatch); an error when the engine does not answer within a few seconds.
    sys::Result<std::unique_ptr<EngineWatch>> watch(const std::string& project) override;

    /// Whether the engine answers GET /_ping with 200 within `timeout` (readiness checks).
    sys::Result<void> ping(sys::Duration timeout);
    /// The negotiated API version ("1.41"), negotiating if needed.
    sys::Result<std::string> api_version();

private:
    /// GET /images/REFERENCE/json's image id; "" when there is no such image.
    sys::Result<std::string> image_id(const std::string& reference);
    /// GET /containers/json for `project`'s containers: a JSON array.
    sys::Result<nlohmann::json> listing(const std::string& project);
    sys::Result<sys::HttpResponse> call(const std::string& method, const std::string& path,
                                        sys::HttpRequest extra = {});

    sys::HttpClient& m_http;
    std::string m_socket_path;
    std::string m_api_version;  // empty until negotiated
};

/// Splits "name[:tag][@sha256:...]" into the fromImage and tag of POST /images/create: the
/// digest when there is one (the tag is then dropped), else the tag, else "latest".
std::pair<std::string, std::string> split_pull_reference(const std::string& reference);

}  // namespace agentd::runtime
