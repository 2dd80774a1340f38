#pragma once
// Host names and addresses: splitting an authority into host and port, and the one loopback
// test every plain-HTTP decision uses (git remotes, registries, token realms, agent.yaml).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentd::sys {

/// An authority's host (brackets of an IPv6 literal removed) and port.
struct HostPort {
    std::string host;
    std::optional<std::uint16_t> port;  ///< nullopt when the authority names none
};

/// Splits "host", "host:port", "[v6]" or "[v6]:port". nullopt when malformed: an empty host,
/// a port that is not 1-65535 in plain decimal, an unbracketed IPv6 literal, user info ('@'),
/// a path, or anything after "]" but ":port". The host itself is not checked further.
std::optional<HostPort> split_host_port(std::string_view authority);

/// True for a host (no port, no brackets) whose traffic never leaves the machine, so plain
/// HTTP exposes nothing on the network:
///   - "localhost", in any case (and nothing else under it: "localhost." and "a.localhost" are
///     names a resolver may send to DNS);
///   - an IPv4 literal in 127.0.0.0/8 in the dotted-quad form inet_pton(3) accepts (four
///     decimal parts without leading zeros): never "127.1", "0x7f.0.0.1", "0177.0.0.1" or a
///     name that starts like one, such as "127.evil.example" or "127.0.0.1.nip.io";
///   - the IPv6 literal ::1 in any spelling inet_pton(3) accepts ("0:0:0:0:0:0:0:1").
/// Deliberately not: IPv4-mapped or -compatible IPv6 forms of 127.x (::ffff:127.0.0.1), zone
/// ids (::1%lo), and other host names, whatever they resolve to today.
bool is_loopback_host(std::string_view host);

/// is_loopback_host() for an authority as split_host_port() reads it ("127.0.0.1:5000",
/// "[::1]:5000", "localhost"); false when malformed. A bare "::1" is not an authority.
bool is_loopback_authority(std::string_view authority);

}  // namespace agentd::sys
