#pragma once
// Signed git objects: where a tag's or a commit's signature is, what kind it is, and the
// answer of a verification (trust/git_verifier.h does the checking).
//
// Git signs the bytes of the object itself. An annotated tag carries its signature at the end
// of its message: the raw tag object (headers and message) up to the last line that starts an
// armored signature block is the signed payload, the block from there to the end is the
// signature. A commit carries it in its `gpgsig` header, which libgit2 extracts
// (git_commit_extract_signature) together with the commit minus that header, the payload.
// The block's first line says who can check it: `-----BEGIN SSH SIGNATURE-----` (ssh-keygen
// -Y sign, namespace "git") or `-----BEGIN PGP SIGNATURE-----` (OpenPGP, gpg).

#include <optional>
#include <string>
#include <string_view>

namespace agentd::trust {

enum class SignatureMethod { Ssh, OpenPgp };

/// "ssh" or "openpgp", as shown in events and by agentctl.
std::string_view method_name(SignatureMethod method);

/// A signature and the bytes it signs, as they are in the object.
struct SignedPayload {
    std::string payload;
    std::string signature;
};

/// A good signature by a trusted key.
struct GitSignature {
    SignatureMethod method = SignatureMethod::Ssh;
    /// SSH: the principal of allowed_signers that matched; OpenPGP: the key's first user id
    /// (its fingerprint when it has none).
    std::string signer;
    /// SSH: "ED25519 SHA256:..." as ssh-keygen prints it; OpenPGP: the signing key's
    /// fingerprint.
    std::string key;
};

/// Splits a raw annotated tag object (without git's "tag <size>\0" header, as the object
/// database returns it) into payload and signature, the way git's verify-tag does: the last
/// line starting a signature block (SSH, PGP signature, PGP message or X.509 signed message)
/// begins the signature. nullopt when there is no such line: the tag is not signed.
std::optional<SignedPayload> split_tag_signature(std::string_view raw_tag);

/// What kind of signature `signature` is, by its first line. nullopt for a kind agentd does
/// not verify (X.509) or garbage.
std::optional<SignatureMethod> signature_method(std::string_view signature);

/// The value of header `name` in a raw tag or commit object ("tag", "object", "type"), from the
/// header block (up to the first empty line); nullopt when absent.
std::optional<std::string> object_header(std::string_view raw, std::string_view name);

}  // namespace agentd::trust
