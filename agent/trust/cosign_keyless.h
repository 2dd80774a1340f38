#pragma once
// cosign's legacy keyless layout, turned into the evidence verify_keyless checks: a
// simple-signing layer (cosign.h) whose annotations carry the Fulcio certificate
// ("dev.sigstore.cosign/certificate", PEM), its chain ("dev.sigstore.cosign/chain", PEM,
// intermediates then root) and the Rekor SET bundle ("dev.sigstore.cosign/bundle"). The
// signature is over the payload blob, which the log records as a hashedrekord of its SHA-256.

#include <string_view>

#include "agent/sys/result.h"
#include "agent/trust/cosign.h"
#include "agent/sigstore/keyless.h"

namespace agentd::trust {

/// The evidence of `layer`, whose payload blob is `payload`. InvalidInput naming the
/// annotation when the layer is not a keyless signature (no signature, no certificate, no
/// bundle) or an annotation does not parse.
sys::Result<sigstore::KeylessEvidence> cosign_keyless_evidence(const SignatureLayer& layer,
                                                     std::string_view payload);

}  // namespace agentd::trust
