#pragma once
// Whether a webhook comes from someone holding the shared secret (api.webhook_secret_file).
//
// - GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the raw body keyed with
//   the secret. As @octokit/webhooks-methods (GitHub's own library) accepts it: the prefix
//   exactly "sha256=" (lower case), then exactly 64 hex digits of either case; nothing else
//   (no spaces, no "sha1=", no other length).
// - Gitea and Forgejo: X-Gitea-Signature (or X-Forgejo-Signature) is the same HMAC in hex,
//   without a prefix: exactly 64 hex digits of either case (Gitea writes lower case).
// - GitLab: X-Gitlab-Token is the secret itself.
// Every comparison takes the same time whatever the bytes compared (CRYPTO_memcmp over the raw
// HMAC; for GitLab's token, over SHA-256 digests of the token and the secret, so that not even
// its length shows). No error message carries a header's value: GitLab's is a secret, or a
// near miss of one.

#include <string>
#include <string_view>

#include "agent/sys/result.h"
#include "agent/webhook/headers.h"
#include "agent/webhook/provider.h"

namespace agentd::webhook {

/// The raw HMAC-SHA256 (32 bytes) of `data` keyed with `key` (OpenSSL).
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Checks the proof `headers` carry for `body` as `provider` sends it. Unauthorized, naming the
/// header, when it is missing, malformed or does not match, and when `secret` is empty (a
/// webhook is never taken without a secret).
sys::Result<void> check_signature(Provider provider, std::string_view secret,
                                  const Headers& headers, std::string_view body);

}  // namespace agentd::webhook
