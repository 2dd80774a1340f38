// The Docker Engine's answers (agent/runtime/docker_engine), through DockerEngine with an
// HttpClient that answers from the input: the ping's Api-Version, the pull progress stream
// (JSON lines, delivered in uneven chunks as a socket would), the container list and each
// container's inspect document.
// Input: parts cut at "\n--\n": Api-Version, pull stream, container list, inspect answers.
// Invariants: nothing throws (an exception here would end a worker); a failed pull says why;
// listed containers come sorted by service and name.

#include "agent/runtime/docker_engine.h"
#include "tests/fuzz/fuzz_check.h"

using namespace agentd;

namespace {

class AnsweringHttp final : public sys::HttpClient {
public:
    explicit AnsweringHttp(const std::vector<std::string>& parts) : m_parts(parts) {}

    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        sys::HttpResponse response;
        response.status = 200;
        if (request.url.ends_with("/_ping")) {
            response.headers.emplace_back("api-version", part(0));
        } else if (request.url.find("/images/create?") != std::string::npos) {
            const std::string& stream = part(1);
            for (std::size_t at = 0; at < stream.size();) {
                const std::size_t length = static_cast<unsigned char>(stream[at]) % 31 + 1;
                if (!request.on_body(std::string_view(stream).substr(at, length))) {
                    break;
                }
                at += length;
            }
        } else if (request.url.find("/containers/json?") != std::string::npos) {
            response.body = part(2);
        } else if (request.url.find("/containers/") != std::string::npos) {
            const std::size_t index = 3 + m_inspects++;
            if (index >= m_parts.size()) {
                response.status = 404;
            } else {
                response.body = m_parts[index];
            }
        } else {
            response.status = 404;  // has_image: an unknown image
        }
        return response;
    }

private:
    const std::string& part(std::size_t index) const {
        static const std::string k_empty;
        return index < m_parts.size() ? m_parts[index] : k_empty;
    }

    const std::vector<std::string>& m_parts;
    std::size_t m_inspects = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts(fuzz::as_text(data, size));
    AnsweringHttp http(parts);
    runtime::DockerEngine engine(http, "/nonexistent/docker.sock");
    // With an observer: the pull stream's progress is tracked as well.
    const auto pulled = engine.pull("127.0.0.1:5000/shop/web:1.0", std::nullopt,
                                    [](const runtime::PullProgress&) {});
    if (!pulled) {
        FUZZ_CHECK(!pulled.error().message.empty());
    }
    (void)engine.has_image("127.0.0.1:5000/shop/web:1.0");
    const auto containers = engine.project_containers("shop");
    if (containers) {
        for (std::size_t i = 1; i < containers->size(); ++i) {
            const auto& a = (*containers)[i - 1];
            const auto& b = (*containers)[i];
            FUZZ_CHECK(std::tie(a.service, a.name) <= std::tie(b.service, b.name));
        }
    }
    return 0;
}
