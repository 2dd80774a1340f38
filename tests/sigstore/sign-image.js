#!/usr/bin/env node
// Signs an image that is already in a plain-HTTP registry (the test registry) keyless, the way
// cosign does, with Sigstore's own JavaScript packages (mock-sigstore.js: a mock Fulcio and
// Rekor on 127.0.0.1, @sigstore/sign, @sigstore/oci), never agentd's code; then asks the oracle,
// @sigstore/verify, about what it pushed, as read back from the registry.
//
// Usage: node sign-image.js --state DIR --image 127.0.0.1:PORT/REPOSITORY@sha256:HEX
//                           --identity SAN --issuer URL --format bundle|legacy [options]
//   --state DIR      the private Sigstore of one test: its CA, CT log and Rekor keys (PEM) and
//                    the CA's root certificate are made on the first run and kept there, with
//                    DIR/trusted_root.json (protobuf-specs TrustedRoot JSON) naming them, so that
//                    every signature of the test chains to that one trusted root. Sign one
//                    image at a time per DIR (the first run makes the keys).
//   --identity, --issuer   what the OIDC token says, hence the certificate's SAN (a URI) and
//                    its issuer extensions.
//   --format bundle  what `cosign sign` writes by default since v3: a Sigstore bundle
//                    (application/vnd.dev.sigstore.bundle.v0.3+json) with a DSSE envelope of an
//                    in-toto statement v1 (predicateType https://sigstore.dev/cosign/sign/v1)
//                    whose subject is REPOSITORY at the image digest, attached to the image as
//                    an OCI referrer with @sigstore/oci (on a registry without the referrers API,
//                    registry 2.8, the fallback tag index "sha256-<hex>" is written too).
//   --format legacy  what `cosign sign` (keyless) wrote before v3: at the tag
//                    "sha256-<hex>.sig", an OCI image manifest (layers appended to those already
//                    there) whose layer is the simple-signing payload
//                      {"critical":{"identity":{"docker-reference":"HOST:PORT/REPOSITORY"},
//                                   "image":{"docker-manifest-digest":"sha256:..."},
//                                   "type":"cosign container image signature"},"optional":null}
//                    with the annotations dev.cosignproject.cosign/signature (base64 signature
//                    over the payload's bytes), dev.sigstore.cosign/certificate (the Fulcio
//                    certificate, PEM), dev.sigstore.cosign/chain (its CA, PEM) and
//                    dev.sigstore.cosign/bundle (Rekor's SET bundle of the hashedrekord entry:
//                    {"SignedEntryTimestamp", "Payload": {"body", "integratedTime", "logIndex",
//                    "logID"}}).
// Options, to make signatures that must not verify on purpose:
//   --claim-digest sha256:HEX   the statement (or payload) names this digest instead
//   --untrusted                 signed by a CA that is not in DIR/trusted_root.json
//   --expect-identity SAN, --expect-issuer URL
//                    the policy the oracle checks (default: --identity and --issuer), i.e.
//                    what the verifier under test is configured with
// An option given twice: the last one counts.
// Prints one JSON line:
//   {"format", "image", "pushed": "REPOSITORY@sha256:..." (the bundle's artifact manifest) or
//    "REPOSITORY:sha256-<hex>.sig@sha256:..." (the signature manifest),
//    "oracle": {"verified": bool, "error": "..."},   @sigstore/verify on what the registry holds
//    "claims_match": bool,       the statement (payload) names the image digest
//    "expected": "verified"|"rejected"}              both of the above hold, or not
// Exit status 0 when signed and pushed (whatever the oracle says), 1 on an error, 2 on a usage
// error.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const sigstore = require('./mock-sigstore');
const registry = require('./registry');

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

const OPTIONS = ['state', 'image', 'identity', 'issuer', 'format', 'claim-digest', 'expect-identity', 'expect-issuer'];
const FLAGS = ['untrusted'];

function usage(message) {
  process.stderr.write(`sign-image: ${message}\n` +
    'usage: node sign-image.js --state DIR --image 127.0.0.1:PORT/REPOSITORY@sha256:HEX ' +
    '--identity SAN --issuer URL --format bundle|legacy [--claim-digest sha256:HEX] [--untrusted] ' +
    '[--expect-identity SAN] [--expect-issuer URL]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const out = { untrusted: false };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (FLAGS.includes(name)) {
      out[name] = true;
    } else if (OPTIONS.includes(name)) {
      if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
      out[name] = argv[++i];
    } else {
      usage(`unknown argument ${argv[i]}`);
    }
  }
  for (const required of ['state', 'image', 'identity', 'issuer', 'format']) {
    if (!out[required]) usage(`--${required} is missing`);
  }
  const image = /^(127\.0\.0\.1:[0-9]+\/[a-z0-9._\/-]+)@(sha256:[0-9a-f]{64})$/.exec(out.image);
  if (!image) usage('--image must be 127.0.0.1:PORT/REPOSITORY@sha256:HEX');
  out.target = image[1];
  out.digest = image[2];
  if (!['bundle', 'legacy'].includes(out.format)) usage('--format must be bundle or legacy');
  if (out['claim-digest'] !== undefined && !/^sha256:[0-9a-f]{64}$/.test(out['claim-digest'])) {
    usage('--claim-digest must be sha256:HEX');
  }
  out.claimDigest = out['claim-digest'] || out.digest;
  out.policy = { identity: out['expect-identity'] || out.identity, issuer: out['expect-issuer'] || out.issuer };
  return out;
}

// ---------------------------------------------------------------------------------------------
// The test's Sigstore, kept in the state directory

const STATE_FILES = {
  caKey: 'fulcio-ca.key', caRoot: 'fulcio-root.pem', ctlogKey: 'ctlog.key', rekorKey: 'rekor.key',
  root: 'trusted_root.json',
};

// Written whole or not at all: keys readable by their owner only.
function writeFile(file, data, mode) {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, data, { mode });
  fs.renameSync(temp, file);
}

const pemOf = (key) => key.export({ type: 'pkcs8', format: 'pem' });
const keysOf = (pem) => {
  const privateKey = crypto.createPrivateKey(pem);
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) };
};

// Starts the mock Fulcio and Rekor with the keys of DIR, made (with DIR/trusted_root.json,
// written last) when DIR has no trusted root yet. Returns {sigstore, root}.
async function openState(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name) => path.join(dir, STATE_FILES[name]);
  if (fs.existsSync(file('root'))) {
    const rekor = await sigstore.startRekor({ keys: keysOf(fs.readFileSync(file('rekorKey'))) });
    const fulcio = await sigstore.startFulcio({
      caKeys: keysOf(fs.readFileSync(file('caKey'))),
      ctlogKeys: keysOf(fs.readFileSync(file('ctlogKey'))),
      rootCertificate: new crypto.X509Certificate(fs.readFileSync(file('caRoot'))).raw,
    });
    return { sigstore: { ...fulcio, ...rekor }, root: JSON.parse(fs.readFileSync(file('root'), 'utf8')) };
  }
  const keys = { caKey: sigstore.keyPair(), ctlogKey: sigstore.keyPair(), rekorKey: sigstore.keyPair() };
  const rekor = await sigstore.startRekor({ keys: keys.rekorKey });
  const fulcio = await sigstore.startFulcio({ caKeys: keys.caKey, ctlogKeys: keys.ctlogKey });
  const state = { ...fulcio, ...rekor };
  for (const [name, pair] of Object.entries(keys)) writeFile(file(name), pemOf(pair.privateKey), 0o600);
  writeFile(file('caRoot'), new crypto.X509Certificate(state.rootCertificate).toString(), 0o644);
  const root = sigstore.trustedRoot(state);
  writeFile(file('root'), `${JSON.stringify(root, null, 2)}\n`, 0o644);
  return { sigstore: state, root };
}

// ---------------------------------------------------------------------------------------------
// Sigstore bundle, attached as a referrer

async function signBundle(args, signer) {
  const data = sigstore.statement(args.claimDigest, args.target);
  const bundle = await sigstore.makeBundle(signer, { content: 'dsse', data, identity: args.identity, issuer: args.issuer });
  const artifact = await sigstore.attachBundle(args.target, args.digest, bundle);
  return { pushed: `${args.target}@${artifact}`, stored: await readBundle(args, artifact) };
}

// What the registry holds at the artifact manifest: the bundle, and whether the statement in
// it names the image.
async function readBundle(args, artifactDigest) {
  const got = await registry.getManifest(args.target, artifactDigest, [OCI_MANIFEST]);
  if (got === null) throw new Error(`the artifact ${args.target}@${artifactDigest} is not in the registry`);
  const manifest = JSON.parse(got.bytes);
  if (manifest.artifactType !== sigstore.BUNDLE_MEDIA_TYPE || !manifest.subject ||
      manifest.subject.digest !== args.digest || manifest.layers.length !== 1) {
    throw new Error(`the artifact manifest ${artifactDigest} is not a bundle about ${args.digest}: ${got.bytes}`);
  }
  const bundle = JSON.parse(await registry.getBlob(args.target, manifest.layers[0].digest));
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  const hex = args.digest.slice('sha256:'.length);
  const claimsMatch = statement.subject.some((s) => s.digest && s.digest.sha256 === hex);
  return { bundle, artifact: undefined, claimsMatch };
}

// ---------------------------------------------------------------------------------------------
// cosign's legacy layout: the sha256-<hex>.sig tag

function simpleSigningPayload(args) {
  return Buffer.from(JSON.stringify({
    critical: {
      identity: { 'docker-reference': args.target },
      image: { 'docker-manifest-digest': args.claimDigest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: null,
  }));
}

const pem = (der) => new crypto.X509Certificate(Buffer.from(der, 'base64')).toString();

// The cosign annotations of a message-signature bundle over the payload: the signature, the
// leaf certificate, its CA's chain and the Rekor entry as cosign's SET bundle.
function cosignAnnotations(bundle, chainDER) {
  const material = bundle.verificationMaterial;
  const leaf = material.certificate ? material.certificate.rawBytes : material.x509CertificateChain.certificates[0].rawBytes;
  const entry = material.tlogEntries[0];
  return {
    [SIGNATURE_ANNOTATION]: bundle.messageSignature.signature,
    [CERTIFICATE_ANNOTATION]: pem(leaf),
    [CHAIN_ANNOTATION]: new crypto.X509Certificate(chainDER).toString(),
    [BUNDLE_ANNOTATION]: JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    }),
  };
}

async function signLegacy(args, signer) {
  const payload = simpleSigningPayload(args);
  const bundle = await sigstore.makeBundle(signer, { content: 'message', data: payload, identity: args.identity, issuer: args.issuer });
  const annotations = cosignAnnotations(bundle, signer.rootCertificate);
  const tag = `${args.digest.replace(':', '-')}.sig`;
  // Signing again adds a layer, as cosign does.
  const existing = await registry.getManifest(args.target, tag, [OCI_MANIFEST, DOCKER_MANIFEST]);
  const layers = existing === null ? [] : JSON.parse(existing.bytes).layers;
  layers.push({
    mediaType: SIMPLE_SIGNING, size: payload.length, digest: await registry.pushBlob(args.target, payload), annotations,
  });
  // The config cosign writes: an image config whose rootfs lists the layers.
  const config = Buffer.from(JSON.stringify({
    architecture: '', created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {},
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, size: config.length, digest: await registry.pushBlob(args.target, config) },
    layers,
  }));
  const manifestDigest = await registry.putManifest(args.target, tag, manifest, OCI_MANIFEST);
  return { pushed: `${args.target}:${tag}@${manifestDigest}`, stored: await readLegacy(args, tag, annotations) };
}

// What the registry holds at the signature tag, as a bundle (version 0.1: a certificate, the
// SET-only log entry, the message signature over the payload) for the oracle; the layer is the
// one with this signature.
async function readLegacy(args, tag, annotations) {
  const got = await registry.getManifest(args.target, tag, [OCI_MANIFEST]);
  if (got === null) throw new Error(`the signature ${args.target}:${tag} is not in the registry`);
  const layer = JSON.parse(got.bytes).layers.find((l) =>
    l.mediaType === SIMPLE_SIGNING && l.annotations && l.annotations[SIGNATURE_ANNOTATION] === annotations[SIGNATURE_ANNOTATION]);
  if (!layer) throw new Error(`the signature ${args.target}:${tag} lacks the layer just pushed`);
  const payload = await registry.getBlob(args.target, layer.digest);
  const set = JSON.parse(layer.annotations[BUNDLE_ANNOTATION]);
  const body = JSON.parse(Buffer.from(set.Payload.body, 'base64').toString('utf8'));
  const leaf = new crypto.X509Certificate(layer.annotations[CERTIFICATE_ANNOTATION]);
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: leaf.raw.toString('base64') }] },
      tlogEntries: [{
        logIndex: String(set.Payload.logIndex),
        logId: { keyId: Buffer.from(set.Payload.logID, 'hex').toString('base64') },
        kindVersion: { kind: body.kind, version: body.apiVersion },
        integratedTime: String(set.Payload.integratedTime),
        inclusionPromise: { signedEntryTimestamp: set.SignedEntryTimestamp },
        canonicalizedBody: set.Payload.body,
      }],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: crypto.createHash('sha256').update(payload).digest('base64') },
      signature: layer.annotations[SIGNATURE_ANNOTATION],
    },
  };
  const claims = JSON.parse(payload.toString('utf8')).critical;
  const claimsMatch = claims.image['docker-manifest-digest'] === args.digest &&
    claims.identity['docker-reference'] === args.target && claims.type === COSIGN_SIGNATURE_TYPE;
  return { bundle, artifact: payload, claimsMatch };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { sigstore: trusted, root } = await openState(args.state);
  // A CA outside the trusted root, with its own CT log; the entry goes to the trusted Rekor,
  // so that the CA is the only fault.
  const signer = args.untrusted ? { ...(await sigstore.startFulcio()), tlog: trusted.tlog, rekor: trusted.rekor } : trusted;
  try {
    const signed = await (args.format === 'bundle' ? signBundle : signLegacy)(args, signer);
    const verdict = sigstore.oracle(root, signed.stored.bundle, args.policy, signed.stored.artifact);
    process.stdout.write(`${JSON.stringify({
      format: args.format,
      image: `${args.target}@${args.digest}`,
      pushed: signed.pushed,
      oracle: verdict,
      claims_match: signed.stored.claimsMatch,
      expected: verdict.verified && signed.stored.claimsMatch ? 'verified' : 'rejected',
    })}\n`);
  } finally {
    for (const server of new Set([trusted.fulcio, trusted.rekor, signer.fulcio])) server.close();
  }
}

main().catch((e) => {
  process.stderr.write(`sign-image: ${e.stack || e}\n${e.cause ? `cause: ${e.cause.stack || e.cause}\n` : ''}`);
  process.exit(1);
});
