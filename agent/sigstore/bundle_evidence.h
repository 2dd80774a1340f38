#pragma once
// A parsed Sigstore bundle (sigstore_bundle.h) turned into the evidence verify_keyless checks,
// for the image whose manifest digest the caller computed. What the signature is over comes
// from the caller, never from the bundle alone:
// - a messageSignature signs the artifact whose digest the bundle's messageDigest names; that
//   digest must equal the image's, and the evidence carries the caller's digest
//   (sigstore-conformance's message-digest-mismatch_fail);
// - a dsseEnvelope carries an in-toto statement, one of whose subjects must name the image's
//   digest; the evidence carries the envelope, whose PAE the signature is over.
// A certificate chain that includes a self-signed (root) certificate is refused: roots come
// from the trusted root only (sigstore-conformance's bundle-with-root-cert_fail).

#include <string_view>

#include "agent/sys/result.h"
#include "agent/sigstore/keyless.h"
#include "agent/sigstore/sigstore_bundle.h"

namespace agentd::sigstore {

/// The evidence of `bundle` about the image manifest `image_digest` ("sha256:<hex>").
/// InvalidInput naming what failed: a public key bundle (not keyless), a root certificate in
/// the chain, a message digest or statement subject other than `image_digest`, a DSSE payload
/// that is not an in-toto statement.
sys::Result<KeylessEvidence> bundle_keyless_evidence(const SigstoreBundle& bundle,
                                                     std::string_view image_digest);

}  // namespace agentd::sigstore
