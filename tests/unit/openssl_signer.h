#pragma once
// Test helper: keys and cosign-style signatures made by the openssl command-line tool, never by
// agentd's code, so the tests check agentd against an independent implementation.
//
// cosign signs the payload bytes: ECDSA and RSA (PKCS#1 v1.5) over SHA-256, Ed25519 over the
// bytes themselves; the signature goes base64-encoded into the layer annotation. A signature
// manifest is built here as cosign writes it (an OCI image manifest, one simple-signing layer
// per signature).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "agent/sys/process.h"
#include "tests/unit/temp_dir.h"

namespace agentd::testing {

inline std::string run_openssl(std::vector<std::string> args) {
    sys::PosixProcessRunner runner;
    sys::ProcessSpec spec;
    spec.argv = {"openssl"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    auto result = runner.run(spec);
    REQUIRE(result.ok());
    INFO(result->err);
    REQUIRE(result->success());
    return result->out;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// A key pair in its own directory: private.pem and public.pem.
class OpensslKey {
public:
    /// `kind`: "p256", "p384", "p521", "ed25519", "rsa2048", "rsa1024".
    explicit OpensslKey(const std::string& kind) : m_kind(kind) {
        const std::string priv = private_pem().string();
        if (kind == "p256" || kind == "p384" || kind == "p521") {
            const std::string curve = kind == "p256" ? "P-256" : kind == "p384" ? "P-384" : "P-521";
            run_openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve,
                         "-out", priv});
        } else if (kind == "ed25519") {
            run_openssl({"genpkey", "-algorithm", "ED25519", "-out", priv});
        } else {
            run_openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt",
                         "rsa_keygen_bits:" + kind.substr(3), "-out", priv});
        }
        run_openssl({"pkey", "-in", priv, "-pubout", "-out", public_pem().string()});
    }

    std::filesystem::path private_pem() const { return m_dir.path() / "private.pem"; }
    std::filesystem::path public_pem() const { return m_dir.path() / "public.pem"; }

    /// The base64 signature of `data`, as cosign puts it into the annotation.
    std::string sign_base64(const std::string& data) const {
        const auto in = m_dir.path() / "data";
        const auto sig = m_dir.path() / "sig";
        std::ofstream(in, std::ios::binary) << data;
        if (m_kind == "ed25519") {
            run_openssl({"pkeyutl", "-sign", "-inkey", private_pem().string(), "-rawin", "-in",
                         in.string(), "-out", sig.string()});
        } else {
            run_openssl({"dgst", "-sha256", "-sign", private_pem().string(), "-out", sig.string(),
                         in.string()});
        }
        std::string encoded = run_openssl({"base64", "-A", "-in", sig.string()});
        while (!encoded.empty() && (encoded.back() == '\n' || encoded.back() == '\r')) {
            encoded.pop_back();
        }
        return encoded;
    }

private:
    std::string m_kind;
    TempDir m_dir;
};

/// "sha256:<hex>" of `data`, computed by openssl.
inline std::string openssl_digest(const std::string& data) {
    TempDir dir;
    std::ofstream(dir.path() / "data", std::ios::binary) << data;
    const std::string out = run_openssl({"dgst", "-sha256", "-r", (dir.path() / "data").string()});
    return "sha256:" + out.substr(0, 64);
}

/// A simple-signing payload as cosign writes it.
inline std::string simple_signing_payload(
    const std::string& reference, const std::string& digest,
    const std::string& type = "cosign container image signature") {
    return fmt::format(R"({{"critical":{{"identity":{{"docker-reference":"{}"}},"image":{{)"
                       R"("docker-manifest-digest":"{}"}},"type":"{}"}},"optional":null}})",
                       reference, digest, type);
}

/// One layer of a signature manifest.
struct SignedLayer {
    std::string payload;
    std::string signature_base64;  ///< empty: no signature annotation
};

/// A signature manifest as cosign writes it: OCI image manifest, an empty config, one
/// simple-signing layer per signature.
inline std::string signature_manifest(const std::vector<SignedLayer>& layers,
                                      const std::string& config_digest = openssl_digest("{}")) {
    std::string out = fmt::format(
        R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
        R"("config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,)"
        R"("digest":"{}"}},"layers":[)",
        config_digest);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto& layer = layers[i];
        out += fmt::format(
            R"({}{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":{},)"
            R"("digest":"{}")",
            i == 0 ? "" : ",", layer.payload.size(), openssl_digest(layer.payload));
        if (!layer.signature_base64.empty()) {
            out += fmt::format(R"(,"annotations":{{"dev.cosignproject.cosign/signature":"{}"}})",
                               layer.signature_base64);
        }
        out += "}";
    }
    return out + "]}";
}

}  // namespace agentd::testing
