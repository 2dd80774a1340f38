#pragma once
// The order in which `agentctl tags` lists a repository's tags. Registries answer tags/list in
// no useful order (registry 2.8 returns them unordered), so the list is sorted the way a person
// scans it: versions by precedence, everything else in natural order.

#include <string>
#include <string_view>
#include <vector>

namespace agentd::policy {

/// Natural order: runs of digits compare as numbers ("main-9" < "main-10"), everything else
/// byte by byte; equal texts up to leading zeros fall back to byte order, so the order is total.
/// Returns <0, 0 or >0.
int natural_compare(std::string_view a, std::string_view b);

/// `tags` without duplicates, versions first (strict semver with an optional `v`, lowest to
/// highest precedence, equal precedence by text) and then every other tag in natural order.
/// Ascending like `sort -V`, so the newest version ends the list.
std::vector<std::string> listing_order(std::vector<std::string> tags);

}  // namespace agentd::policy
