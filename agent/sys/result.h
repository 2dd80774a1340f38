#pragma once
// Result<T>: a value or an Error, for expected outcomes and I/O failures (std::expected is C++23).

#include <string>
#include <utility>
#include <variant>

namespace agentd::sys {

/// Why an operation did not produce its value: the one error type of every layer, from a
/// syscall to the API's answer (agent/daemon/api_routes.cpp maps each kind to an HTTP status).
/// The kind says what a caller can do about it:
/// - Failed: it did not work this time (a timeout, a killed process, a full disk); try again.
/// - NotFound: the thing asked for does not exist (a missing tag or branch is an answer, an
///   unreachable server is not).
/// - Unauthorized: a server refused agentd's credentials.
/// - InvalidInput: what was given is wrong (a verdict about a release, a bad request); the same
///   input fails the same way again.
/// - Conflict: the request does not fit the present state (agentd is stopping, a deployment
///   that cannot be restored).
/// - Unavailable: a server agentd depends on failed or could not be reached.
struct Error {
    enum class Kind { Failed, NotFound, Unauthorized, InvalidInput, Conflict, Unavailable };
    Kind kind = Kind::Failed;
    std::string message;

    static Error failed(std::string m) { return {Kind::Failed, std::move(m)}; }
    static Error not_found(std::string m) { return {Kind::NotFound, std::move(m)}; }
    static Error unauthorized(std::string m) { return {Kind::Unauthorized, std::move(m)}; }
    static Error invalid(std::string m) { return {Kind::InvalidInput, std::move(m)}; }
    static Error conflict(std::string m) { return {Kind::Conflict, std::move(m)}; }
    static Error unavailable(std::string m) { return {Kind::Unavailable, std::move(m)}; }
    bool is_not_found() const { return kind == Kind::NotFound; }
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

/// Result of an operation that has no value beyond success.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_ok(false) {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return m_error; }

private:
    Error m_error;
    bool m_ok = true;
};

}  // namespace agentd::sys
