#pragma once
// Result<T>: a value or an Error, for expected outcomes and I/O failures (std::expected is C++23).

#include <string>
#include <utility>
#include <variant>

namespace agentd::sys {

/// Why an operation did not produce its value. `NotFound` is kept apart from every other
/// failure (a missing tag or branch is an answer, an unreachable server is not).
struct Error {
    enum class Kind { Failed, NotFound, Unauthorized, InvalidInput };
    Kind kind = Kind::Failed;
    std::string message;

    static Error failed(std::string m) { return {Kind::Failed, std::move(m)}; }
    static Error not_found(std::string m) { return {Kind::NotFound, std::move(m)}; }
    static Error unauthorized(std::string m) { return {Kind::Unauthorized, std::move(m)}; }
    static Error invalid(std::string m) { return {Kind::InvalidInput, std::move(m)}; }
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
