#pragma once
// fleet::Etcd over etcd's gRPC gateway (HTTP/1.1 + JSON at /v3/...), the documented HTTP
// interface of etcd v3: no etcd client library is packaged for C++ in Debian.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "agent/fleet/etcd.h"
#include "agent/sys/http.h"

namespace agentd::fleet {

/// How to reach the cluster. Endpoints are base URLs ("https://10.0.0.1:2379"); a request goes
/// to the endpoint that answered last and moves on to the next when one cannot be reached.
struct EtcdEndpoints {
    std::vector<std::string> urls;
    std::string ca_file;    ///< CA bundle that signed the members' certificates
    std::string cert_file;  ///< client certificate, when the cluster asks for one
    std::string key_file;
    std::string username;  ///< with password: etcd's own authentication (a token per client)
    std::string password;
    sys::Duration timeout = std::chrono::seconds(5);  ///< per request (a watch: none)
};

/// Not thread-safe: one per thread (the HTTP client keeps its connections).
class EtcdGateway final : public Etcd {
public:
    EtcdGateway(EtcdEndpoints endpoints, std::unique_ptr<sys::HttpClient> http);

    sys::Result<Listing> list(const std::string& prefix) override;
    sys::Result<TxnResult> txn(const Txn& txn) override;
    sys::Result<std::int64_t> grant_lease(sys::Duration ttl) override;
    sys::Result<sys::Duration> keep_alive(std::int64_t lease) override;
    sys::Result<void> revoke_lease(std::int64_t lease) override;
    sys::Result<void> watch(const std::string& prefix, std::int64_t from,
                            const std::function<bool(const WatchBatch&)>& on_batch,
                            const std::function<bool()>& cancelled) override;

private:
    /// POSTs body to path on the current endpoint, then the others; the answer's body when
    /// HTTP said 200, else the gateway's error. Authenticates first when a user is configured,
    /// and once more when the token was refused.
    sys::Result<std::string> call(const std::string& path, const std::string& body);
    sys::Result<void> authenticate(std::size_t endpoint);
    sys::HttpRequest request_to(std::size_t endpoint, const std::string& path,
                                const std::string& body) const;

    EtcdEndpoints m_endpoints;
    std::unique_ptr<sys::HttpClient> m_http;
    std::size_t m_current = 0;
    std::string m_token;
};

}  // namespace agentd::fleet
