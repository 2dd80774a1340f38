// The HTTP API's requests (agent/daemon/api_routes handle_request): method, path, query and
// body as agentctl or anything else on the socket sends them, answered by a fake backend.
// Input: parts cut at "\n--\n": method, path, query lines ("key=value"), body.
// Invariants: the status is a valid HTTP status; an error answer carries an "error" string;
// every answer serialises as the server writes it.

#include "agent/daemon/api_routes.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/daemon/fake_backend.h"

using namespace agentd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));
    daemon::ApiRequest request;
    request.method = parts[0];
    request.path = parts.size() > 1 ? parts[1] : "/v1/status";
    if (parts.size() > 2) {
        for (const auto& line : fuzz::split_lines(parts[2])) {
            const auto equals = line.find('=');
            request.query[line.substr(0, equals)] =
                equals == std::string::npos ? "" : line.substr(equals + 1);
        }
    }
    if (parts.size() > 3) {
        request.body = parts[3];
    }

    daemon::testing::FakeBackend backend;
    backend.deployments.push_back(daemon::testing::sample_deployment(7, "shop"));
    const daemon::ApiReply reply = daemon::handle_request(backend, request);
    FUZZ_CHECK(reply.status >= 200 && reply.status <= 599);
    if (reply.status >= 400) {
        FUZZ_CHECK(reply.body.is_object() && reply.body.contains("error") &&
                   reply.body["error"].is_string());
    }
    // As agent/daemon/api_server.cpp writes it: invalid UTF-8 replaced, never thrown.
    (void)reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
}
