#pragma once
// The routes of the HTTP API (SPEC section 7) as a pure function from request to answer, so
// that they are tested without a socket; ApiServer only moves bytes.

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/daemon/api_backend.h"

namespace agentd::daemon {

struct ApiRequest {
    std::string method;  ///< "GET", "POST", ...
    std::string path;    ///< "/v1/status", without the query
    std::map<std::string, std::string> query;
    std::string body;
    /// The request's headers as sent (names compared case-insensitively by webhook::Headers).
    std::map<std::string, std::string> headers;
    /// The peer's address on TCP ("192.0.2.1", "::1"); empty on the unix socket.
    std::string peer;
};

struct ApiReply {
    int status = 200;
    nlohmann::json body;  ///< errors: {"error": "message"}
    /// When set, the answer is `text` with this type instead of `body` as JSON (/metrics).
    std::string content_type;
    std::string text;
    /// When set, the answer is this stream with `content_type`, sent as it comes (chunked)
    /// until it ends, the client goes away or the server stops (GET /v1/events).
    std::shared_ptr<ApiStream> stream;
};

/// A stack's release names by their fleet key (ApiBackend::release_names).
using ReleaseNames = std::map<std::string, std::string>;

/// Routes `request` to `backend`. Malformed input is a 400, an unknown path a 404, a known
/// path with the wrong method a 405; the backend's errors keep their status.
ApiReply handle_request(ApiBackend& backend, const ApiRequest& request);

/// {"name","state","paused","pinned","current","last_poll":{"at","result","error","revision"},
///  "candidate"} of SPEC section 6, plus "waiting": {"deployment","since","until"} or null.
nlohmann::json to_json(const StackStatus& s);
/// {"stack","pending","note","current":{"deployment","revision","tag"},"candidate":{"revision",
///  "tag"},"commits":[{"id","subject"}],"commits_truncated","compose_diff","services":
///  {"changed","added","removed"}} (deploy::to_json(ServiceChanges)); see agentctl(1).
nlohmann::json to_json(const StackDiff& d);
/// {"group","host","max_updating","revision","stacks":[{"stack","updating":[HOLDER],"queued":
///  [HOLDER],"halt":{"release","name","host","reason","time"} or null,"done":[{"release","name",
///  "hosts"}],"malformed":[KEY]}],"malformed":[KEY]}, HOLDER {"host","release","name","since",
///  "lease"}; "name" from `names` (per stack), null where unknown. See agentctl(1).
nlohmann::json to_json(const fleet::GroupView& g, const std::map<std::string, ReleaseNames>& names);
/// {"outcome","deployment","message"}.
nlohmann::json to_json(const deploy::CycleResult& r);

}  // namespace agentd::daemon
