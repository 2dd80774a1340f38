#include "agent/sigstore/checkpoint.h"

#include <charconv>

#include <fmt/format.h>

#include "agent/sys/base64.h"
#include "agent/sys/digest.h"
#include "agent/sys/public_key.h"

namespace agentd::sigstore {

namespace {

constexpr std::size_t k_max_note_size = 64 * 1024;
constexpr std::size_t k_max_signatures = 16;
constexpr std::string_view k_em_dash = "\xe2\x80\x94";  // U+2014, what starts a signature line

sys::Error bad(std::string_view why) {
    return sys::Error::invalid(fmt::format("the checkpoint {}", why));
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) {
            break;
        }
        text.remove_prefix(end + 1);
    }
    return lines;
}

}  // namespace

sys::Result<Checkpoint> parse_checkpoint(std::string_view note) {
    if (note.size() > k_max_note_size) {
        return bad("is larger than 64 KiB");
    }
    const auto split = note.rfind("\n\n");
    if (split == std::string_view::npos) {
        return bad("has no blank line before its signatures");
    }
    Checkpoint out;
    out.text = std::string(note.substr(0, split + 1));
    const std::string_view signatures = note.substr(split + 2);
    if (signatures.empty() || signatures.back() != '\n') {
        return bad("does not end with a signature line");
    }
    const auto lines = lines_of(std::string_view(out.text).substr(0, out.text.size() - 1));
    if (lines.size() < 3) {
        return bad("has fewer than 3 lines (origin, tree size, root hash)");
    }
    out.origin = std::string(lines[0]);
    if (out.origin.empty()) {
        return bad("has an empty origin line");
    }
    const auto size_line = lines[1];
    const auto [end, ec] =
        std::from_chars(size_line.data(), size_line.data() + size_line.size(), out.tree_size);
    if (size_line.empty() || ec != std::errc() || end != size_line.data() + size_line.size()) {
        return bad("tree size (line 2) is not a number");
    }
    const auto root = sys::base64_decode(lines[2]);
    if (!root || root->size() != 32) {
        return bad("root hash (line 3) is not 32 bytes of base64");
    }
    out.root_hash = *root;
    for (const auto line : lines_of(signatures.substr(0, signatures.size() - 1))) {
        if (out.signatures.size() == k_max_signatures) {
            return bad(fmt::format("has more than {} signatures", k_max_signatures));
        }
        // "— <name> <base64>"
        if (line.substr(0, k_em_dash.size() + 1) != std::string(k_em_dash) + " ") {
            return bad("has a signature line that does not start with \"\xe2\x80\x94 \"");
        }
        const auto rest = line.substr(k_em_dash.size() + 1);
        const auto space = rest.find(' ');
        if (space == 0 || space == std::string_view::npos ||
            rest.find(' ', space + 1) != std::string_view::npos) {
            return bad("has a signature line that is not \"\xe2\x80\x94 NAME SIGNATURE\"");
        }
        const auto bytes = sys::base64_decode(rest.substr(space + 1));
        if (!bytes || bytes->size() < 5) {
            return bad("has a signature that is not base64 of a key hint and a signature");
        }
        out.signatures.push_back(
            {std::string(rest.substr(0, space)), bytes->substr(0, 4), bytes->substr(4)});
    }
    if (out.signatures.empty()) {
        return bad("has no signature");
    }
    return out;
}

bool checkpoint_signed_by(const Checkpoint& checkpoint, const TransparencyLog& log) {
    const auto key = sys::PublicKey::parse_der(log.public_key, log.base_url);
    if (!key) {
        return false;
    }
    const std::string hint = sys::sha256(log.public_key).substr(0, 4);
    for (const auto& signature : checkpoint.signatures) {
        if (signature.key_hint == hint &&
            key->verifies(checkpoint.text, signature.signature, sys::Hash::Sha256)) {
            return true;
        }
    }
    return false;
}

}  // namespace agentd::sigstore
