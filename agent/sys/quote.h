#pragma once
// Names that came from outside (git refs, registry tags, image references, header values),
// made safe to print: a hostile name must not forge log lines, drive a terminal or flood a
// message.

#include <cstddef>
#include <string>
#include <string_view>

namespace agentd::sys {

/// How much of a name quoted() shows by default.
inline constexpr std::size_t k_quoted_max = 80;

/// `text` in double quotes, printable ASCII as is except '"' and '\\' (escaped with '\\'),
/// \n \r \t as such and every other byte (controls, DEL, non-ASCII) as \xNN. Text longer than
/// `max_bytes` is cut there and followed by "... (N bytes)" after the closing quote, so
/// `quoted(std::string(10240, 'a'))` is "aaa...a"... (10240 bytes).
std::string quoted(std::string_view text, std::size_t max_bytes = k_quoted_max);

}  // namespace agentd::sys
