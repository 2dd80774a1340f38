// The Sigstore trusted root agentd ships (config/sigstore/trusted_root.json, installed as the
// default of verify.cosign.trusted_root): it loads, holds the public-good instance (the Rekor
// log cosign and the Sigstore clients write to, the Fulcio CA of sigstore.dev, the certificate
// transparency logs), and real public-good signatures verify against it.
//
// Whether it is exactly what scripts/refresh-sigstore-root would write is not checked here: that
// needs the npm registry, and tests do not use the network (config/sigstore/README.md).

#include <filesystem>
#include <string>

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <catch2/catch.hpp>

#include "agent/sys/digest.h"
#include "agent/sys/files.h"
#include "agent/sigstore/bundle_evidence.h"
#include "agent/sigstore/keyless.h"
#include "agent/sigstore/sigstore_bundle.h"
#include "agent/sigstore/trusted_root.h"
#include "tests/unit/config/source_root.h"
#include "tests/unit/sigstore/sigstore_vectors.h"

namespace unit_sigstore_shipped_root_test {

using namespace agentd;

namespace {

/// Rekor's public-good log: the SHA-256 of its key, as cosign prints it.
constexpr std::string_view k_public_good_rekor_log_id =
    "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d";

sigstore::TrustedRoot shipped_root() {
    const auto path =
        std::filesystem::path(AGENTD_SOURCE_ROOT) / "config/sigstore/trusted_root.json";
    const auto text = sys::read_file(path);
    INFO(path.string() << ": " << (text ? "" : text.error().message));
    REQUIRE(text.ok());
    auto root = sigstore::parse_trusted_root(*text);
    INFO((root ? "" : root.error().message));
    REQUIRE(root.ok());
    return *root;
}

/// The certificate's subject organization (O=), empty when it has none or does not parse.
std::string organization_of(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (cert == nullptr) {
        return {};
    }
    char buffer[256] = {};
    const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                                 NID_organizationName, buffer, sizeof buffer);
    X509_free(cert);
    return length > 0 ? std::string(buffer, static_cast<std::size_t>(length)) : std::string();
}

/// A public-good bundle verified against `root` the way the image verifier does it: parsed,
/// turned into evidence about the artifact's digest, then verify_keyless.
sys::Result<sigstore::KeylessVerified> verify_bundle(const sigstore::TrustedRoot& root,
                                                     std::string_view bundle_text) {
    const auto bundle = sigstore::parse_sigstore_bundle(bundle_text);
    INFO((bundle ? "" : bundle.error().message));
    REQUIRE(bundle.ok());
    const std::string digest = "sha256:" + sys::sha256_hex(testing::k_conformance_artifact);
    const auto evidence = sigstore::bundle_keyless_evidence(*bundle, digest);
    INFO((evidence ? "" : evidence.error().message));
    REQUIRE(evidence.ok());
    const sigstore::KeylessPolicy policy{
        *sigstore::IdentityPattern::parse(testing::k_conformance_identity),
        *sigstore::IdentityPattern::parse(testing::k_conformance_issuer)};
    return sigstore::verify_keyless(root, policy, *evidence);
}

}  // namespace

TEST_CASE("shipped trusted root: holds the public-good Rekor log with its key",
          "[trust][trusted_root]") {
    const auto root = shipped_root();
    const auto log_id = sys::hex_decode(k_public_good_rekor_log_id);
    REQUIRE(log_id);
    const auto* rekor = root.find_tlog(*log_id);
    REQUIRE(rekor != nullptr);
    CHECK(rekor->base_url == "https://rekor.sigstore.dev");
    REQUIRE_FALSE(rekor->public_key.empty());
    // The log ID is the key's, not just a label: a SET signed by another key cannot match it.
    CHECK(sys::sha256(rekor->public_key) == *log_id);
    CHECK(rekor->key_details == "PKIX_ECDSA_P256_SHA_256");
    CHECK(rekor->valid_for.start.has_value());
}

TEST_CASE("shipped trusted root: holds a current Fulcio CA of sigstore.dev and CT logs",
          "[trust][trusted_root]") {
    const auto root = shipped_root();
    bool sigstore_dev_ca = false;
    bool open_ended = false;  // the CA Fulcio issues from today has no end yet
    for (const auto& ca : root.certificate_authorities) {
        INFO(ca.subject << " " << ca.uri);
        REQUIRE_FALSE(ca.certificates.empty());
        if (ca.uri != "https://fulcio.sigstore.dev") {
            continue;
        }
        for (const auto& der : ca.certificates) {
            sigstore_dev_ca = sigstore_dev_ca || organization_of(der) == "sigstore.dev";
        }
        open_ended = open_ended || !ca.valid_for.end;
    }
    CHECK(sigstore_dev_ca);
    CHECK(open_ended);

    // Fulcio's certificates carry SCTs from these; each has a key.
    REQUIRE_FALSE(root.ctlogs.empty());
    bool ctfe = false;
    for (const auto& log : root.ctlogs) {
        CHECK_FALSE(log.public_key.empty());
        CHECK_FALSE(log.log_id.empty());
        ctfe = ctfe || log.base_url.rfind("https://ctfe.sigstore.dev/", 0) == 0;
    }
    CHECK(ctfe);
}

TEST_CASE("shipped trusted root: public-good signatures verify against it",
          "[trust][trusted_root][keyless]") {
    const auto root = shipped_root();
    // A message signature logged as hashedrekord, and an in-toto statement in a DSSE envelope
    // logged as dsse: both by the sigstore-conformance workflow (sigstore_vectors.h).
    for (const auto bundle :
         {testing::k_conformance_hashedrekord_bundle, testing::k_conformance_dsse_bundle}) {
        const auto verified = verify_bundle(root, bundle);
        INFO((verified ? "" : verified.error().message));
        REQUIRE(verified.ok());
        CHECK(verified->identity == testing::k_conformance_identity);
        CHECK(verified->issuer == testing::k_conformance_issuer);
        CHECK(verified->ca == "O=sigstore.dev, CN=sigstore (https://fulcio.sigstore.dev)");
        CHECK(verified->log == "https://rekor.sigstore.dev");
        CHECK(verified->inclusion_proof);
    }
}

}  // namespace unit_sigstore_shipped_root_test
