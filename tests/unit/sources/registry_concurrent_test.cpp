// The registry client's concurrent resolution against the real test registry, seen from a proxy
// in front of it that delays every request as a distant registry would: the same digests as one
// request at a time, one request per image, never more than the configured number in flight,
// and a registry answering 429 to a burst slows only its own requests.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <unistd.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "agent/sources/registry_client.h"
#include "agent/sys/http.h"
#include "tests/unit/sources/registry_push.h"

namespace unit_sources_registry_concurrent_test {

using namespace agentd;
using namespace std::chrono_literals;
using sources::ImageRef;
using sources::RegistryClient;

namespace {

std::string test_registry() {
    const char* host = std::getenv("AGENTD_TEST_REGISTRY");
    if (host == nullptr || *host == '\0') {
        FAIL("AGENTD_TEST_REGISTRY is not set: start the test services (scripts/services start)");
    }
    return host;
}

/// One request the proxy served, with its place in the order of events at the proxy.
struct Served {
    std::string method;
    std::string path;
    long status = 0;
    int began = 0;  ///< event number when it arrived
    int ended = 0;  ///< event number when its answer was sent
};

/// An HTTP proxy on a free loopback port in front of `upstream` (host:port), a thread per
/// connection: it holds every request for `delay` before forwarding it (a round trip to a
/// distant registry), counts the requests in flight, and answers the next `refuse` requests
/// with 429 and Retry-After: 1 instead of forwarding them.
class DelayingProxy {
public:
    DelayingProxy(std::string upstream, std::chrono::milliseconds delay, std::atomic<int>& events)
        : m_upstream(std::move(upstream)), m_delay(delay), m_events(events) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        m_daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                                    0, nullptr, nullptr, &DelayingProxy::handle, this,
                                    MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
        REQUIRE(m_daemon != nullptr);
        host = fmt::format("127.0.0.1:{}",
                           MHD_get_daemon_info(m_daemon, MHD_DAEMON_INFO_BIND_PORT)->port);
    }
    ~DelayingProxy() { MHD_stop_daemon(m_daemon); }
    DelayingProxy(const DelayingProxy&) = delete;
    DelayingProxy& operator=(const DelayingProxy&) = delete;

    void refuse(int count) { m_refuse = count; }
    int most_in_flight() const { return m_most; }
    std::vector<Served> served() {
        std::lock_guard lock(m_mutex);
        return m_served;
    }

    std::string host;

private:
    static MHD_Result handle(void* self_ptr, MHD_Connection* connection, const char* url,
                             const char* method, const char*, const char*, std::size_t*,
                             void** state) {
        if (*state == nullptr) {  // the headers: the (empty) body comes with the next call
            static int marker;
            *state = &marker;
            return MHD_YES;
        }
        return static_cast<DelayingProxy*>(self_ptr)->serve(connection, url, method);
    }

    MHD_Result serve(MHD_Connection* connection, const char* url, const char* method) {
        Served served{method, url, 0, ++m_events, 0};
        const int now = ++m_in_flight;
        for (int most = m_most; now > most && !m_most.compare_exchange_weak(most, now);) {
        }
        std::this_thread::sleep_for(m_delay);

        sys::HttpResponse answer;
        if (m_refuse.fetch_sub(1) > 0) {
            answer.status = 429;
            answer.headers.emplace_back("Retry-After", "1");
        } else {
            sys::HttpRequest forward;
            forward.method = method;
            forward.url = fmt::format("http://{}{}", m_upstream, url);
            for (const char* name : {"Accept", "Authorization"}) {
                if (const char* value =
                        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name)) {
                    forward.headers.emplace_back(name, value);
                }
            }
            thread_local sys::CurlHttpClient http;
            auto forwarded = http.send(forward);
            if (forwarded) {
                answer = std::move(*forwarded);
            } else {
                answer.status = 502;  // (no Catch2 assertion off the main thread)
            }
        }
        MHD_Response* response = MHD_create_response_from_buffer(
            answer.body.size(), answer.body.data(), MHD_RESPMEM_MUST_COPY);
        for (const auto& [name, value] : answer.headers) {
            if (name != "content-length" && name != "connection") {
                MHD_add_response_header(response, name.c_str(), value.c_str());
            }
        }
        --m_in_flight;
        served.status = answer.status;
        served.ended = ++m_events;
        {
            std::lock_guard lock(m_mutex);
            m_served.push_back(served);
        }
        const MHD_Result result =
            MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
        MHD_destroy_response(response);
        return result;
    }

    std::string m_upstream;
    std::chrono::milliseconds m_delay;
    std::atomic<int>& m_events;
    std::atomic<int> m_in_flight{0};
    std::atomic<int> m_most{0};
    std::atomic<int> m_refuse{0};
    std::mutex m_mutex;
    std::vector<Served> m_served;
    MHD_Daemon* m_daemon = nullptr;
};

/// `count` tags of a new repository, each a different image; their digests.
std::vector<std::string> push_tags(const std::string& registry, const std::string& repository,
                                   int count) {
    testing::RegistryPusher pusher(registry);
    std::vector<std::string> digests;
    for (int i = 0; i < count; ++i) {
        digests.push_back(pusher.push_image(repository, fmt::format("t{}", i),
                                            fmt::format("layer {} of {}", i, repository)));
    }
    return digests;
}

ImageRef ref_at(const std::string& host, const std::string& repository, int tag) {
    auto ref = ImageRef::parse(fmt::format("{}/{}:t{}", host, repository, tag));
    REQUIRE(ref.ok());
    return *ref;
}

int count_requests(const std::vector<Served>& served, const std::string& method) {
    return static_cast<int>(std::count_if(served.begin(), served.end(),
                                          [&](const auto& s) { return s.method == method; }));
}

}  // namespace

TEST_CASE(
    "registry: a stack's images are resolved concurrently, one request each, at most "
    "max_concurrent_requests in flight",
    "[integration][registry]") {
    const std::string upstream = test_registry();
    const std::string repository = fmt::format("agentd-it/concurrent-{}", ::getpid());
    const int images = 12;
    const auto pushed = push_tags(upstream, repository, images);
    std::atomic<int> events{0};
    DelayingProxy proxy(upstream, 50ms, events);

    config::Registry entry;
    entry.host = proxy.host;
    entry.insecure_http = true;
    entry.max_concurrent_requests = 3;
    sys::CurlHttpClient http;
    RegistryClient client(http, {entry});
    std::vector<ImageRef> refs;
    for (int i = 0; i < images; ++i) {
        refs.push_back(ref_at(proxy.host, repository, i));
    }
    // One that does not exist among them: NotFound in its place, the others unaffected.
    refs.push_back(ref_at(proxy.host, repository, 99));

    const auto digests = client.resolve_digests(refs);
    REQUIRE(digests.size() == refs.size());
    RegistryClient direct(http, {});
    for (int i = 0; i < images; ++i) {
        INFO("tag t" << i);
        REQUIRE(digests[i].ok());
        CHECK(*digests[i] == pushed[i]);
        // The same as one request at a time, straight to the registry.
        const auto alone = direct.resolve_digest(ref_at(upstream, repository, i));
        REQUIRE(alone.ok());
        CHECK(*alone == *digests[i]);
    }
    REQUIRE_FALSE(digests.back().ok());
    CHECK(digests.back().error().is_not_found());

    const auto served = proxy.served();
    CHECK(count_requests(served, "HEAD") == images + 1);  // one request per image
    CHECK(count_requests(served, "GET") == 0);
    CHECK(proxy.most_in_flight() == 3);
}

TEST_CASE("registry: a registry answering 429 to a burst slows only its own requests",
          "[integration][registry]") {
    const std::string upstream = test_registry();
    const std::string repository = fmt::format("agentd-it/burst-{}", ::getpid());
    const auto pushed = push_tags(upstream, repository, 4);
    std::atomic<int> events{0};
    DelayingProxy limited(upstream, 20ms, events);
    DelayingProxy other(upstream, 20ms, events);
    limited.refuse(4);  // its first round: every request answered 429, Retry-After: 1

    sys::CurlHttpClient http;
    RegistryClient client(http, {});
    std::vector<ImageRef> refs;
    for (int i = 0; i < 4; ++i) {
        refs.push_back(ref_at(limited.host, repository, i));
        refs.push_back(ref_at(other.host, repository, i));
    }
    const auto digests = client.resolve_digests(refs);
    REQUIRE(digests.size() == 8);
    for (int i = 0; i < 8; ++i) {
        INFO("request " << i);
        REQUIRE(digests[i].ok());
        CHECK(*digests[i] == pushed[i / 2]);
    }

    const auto asked = limited.served();
    const auto answered = other.served();
    CHECK(count_requests(asked, "HEAD") == 8);  // 4 refused, 4 asked again
    REQUIRE(count_requests(answered, "HEAD") == 4);
    // The other registry's requests were all answered before the limited one was asked again.
    int other_done = 0;
    for (const auto& s : answered) {
        other_done = std::max(other_done, s.ended);
    }
    for (const auto& s : asked) {
        if (s.status != 429) {
            CHECK(s.began > other_done);
        }
    }
}

TEST_CASE("http: send_all answers in the order asked, an unreachable host failing only its own",
          "[integration][sys]") {
    const std::string upstream = test_registry();
    std::atomic<int> events{0};
    DelayingProxy proxy(upstream, 20ms, events);
    sys::CurlHttpClient http;
    std::vector<sys::HttpRequest> requests(5);
    requests[0].url = fmt::format("http://{}/v2/", proxy.host);
    requests[1].url = "http://127.0.0.1:1/v2/";  // nothing listens there
    requests[2].url = fmt::format("http://{}/v2/no/such/manifests/x", proxy.host);
    requests[3].url = fmt::format("http://{}/v2/", proxy.host);
    requests[4].method = "HEAD";
    requests[4].url = fmt::format("http://{}/v2/", proxy.host);
    const auto results = http.send_all(requests, [](std::string_view) { return std::size_t{2}; });
    REQUIRE(results.size() == 5);
    REQUIRE(results[0].ok());
    CHECK(results[0]->status == 200);
    REQUIRE_FALSE(results[1].ok());
    CHECK(results[1].error().message.find("127.0.0.1:1") != std::string::npos);
    REQUIRE(results[2].ok());
    CHECK(results[2]->status == 404);
    REQUIRE(results[3].ok());
    CHECK(results[3]->status == 200);
    REQUIRE(results[4].ok());
    CHECK(results[4]->status == 200);
    CHECK(proxy.most_in_flight() == 2);
    CHECK(count_requests(proxy.served(), "GET") == 3);
}

}  // namespace unit_sources_registry_concurrent_test
