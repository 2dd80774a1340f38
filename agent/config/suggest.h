#pragma once
// "did you mean" for unknown configuration keys.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace agentd::config {

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost 1 ("helth" -> "health" is 1, "heatlh" -> "health" is 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate `key` was most likely meant to be: the closest one within edit distance 2
/// (1 for keys shorter than 4 characters; ignoring case), else one that `key` (at least 3
/// characters) starts or is the start of. nullopt when nothing is close; ties go to the earlier
/// candidate.
std::optional<std::string> suggest(std::string_view key,
                                   std::span<const std::string_view> candidates);

}  // namespace agentd::config
