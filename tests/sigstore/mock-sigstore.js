// A private Sigstore for agentd's tests, made of Sigstore's own JavaScript packages: a mock
// Fulcio (CA + CT log) and a mock Rekor from @sigstore/mock served on 127.0.0.1, bundles signed
// through them by @sigstore/sign, their trusted root, the @sigstore/verify oracle, and
// @sigstore/oci to attach a bundle to an image. Shared by make-cases.js and sign-image.js;
// agentd's code makes none of these artifacts.
'use strict';

// The signing process talks to 127.0.0.1 only: no proxy may intercept it.
for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) {
  delete process.env[name];
}

const crypto = require('crypto');
const http = require('http');

const mock = require('@sigstore/mock');
const sign = require('@sigstore/sign');
const verify = require('@sigstore/verify');
const bundleLib = require('@sigstore/bundle');
const { TrustedRoot, HashAlgorithm, PublicKeyDetails } = require('@sigstore/protobuf-specs');

const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
const PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const REKOR_URL = 'https://rekor.local';  // only its host goes into the checkpoint's origin

// An unsigned OIDC token (the mock Fulcio decodes, never checks it).
function token(subject, issuer) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: subject, iss: issuer, aud: 'sigstore' })}.`;
}

// Real Rekor stores a DSSE entry (dsse v0.0.1) in this canonical form, not the proposed one:
// hashes of the envelope and payload, and each signature with its verifier.
function canonicalDsseEntry(proposed) {
  const content = proposed.spec.proposedContent;
  const envelope = JSON.parse(content.envelope);
  const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
  return {
    apiVersion: proposed.apiVersion,
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(content.envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s, i) => ({ signature: s.sig, verifier: content.verifiers[i] })),
    },
  };
}

// Serves the mock handlers ({path, fn}) on 127.0.0.1; returns the base URL and a closer.
async function serve(handlers) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const handler = handlers.find((h) => h.path === req.url && req.method === 'POST');
      if (!handler) {
        res.writeHead(404).end();
        return;
      }
      const result = await handler.fn(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(result.statusCode, { 'Content-Type': result.contentType || 'text/plain' });
      res.end(result.response);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

function keyPair() {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

// A Fulcio (CA with its CT log) behind a loopback server. New keys unless given (caKeys,
// ctlogKeys: {publicKey, privateKey} KeyObjects). The mock CA makes a new self-signed root
// certificate each time; rootCertificate (DER), the one an earlier run made with the same key
// and name, is the one to publish instead (its certificates chain to either).
async function startFulcio({ caClock, caKeys, ctlogKeys, rootCertificate } = {}) {
  const ctlog = await mock.initializeCTLog(ctlogKeys || keyPair());
  const ca = await mock.initializeCA(caKeys || keyPair(), ctlog, caClock);
  const fulcio = await serve([mock.fulcioHandler(ca)]);
  return { ca, ctlog, fulcio, rootCertificate: rootCertificate || Buffer.from(ca.rootCertificate) };
}

// A Rekor behind a loopback server, with new keys unless given.
async function startRekor({ keys } = {}) {
  const tlog = await mock.initializeTLog(REKOR_URL, keys || keyPair());
  const canonicalTlog = {
    log: (proposed) => tlog.log(proposed.kind === 'dsse' ? canonicalDsseEntry(proposed) : proposed),
  };
  const rekor = await serve([mock.rekorHandler(canonicalTlog)]);
  return { tlog, rekor };
}

// The trusted root (protobuf-specs TrustedRoot JSON) of `sigstore`'s CA, CT log and Rekor, plus
// the CAs (and their CT logs) of `extra`; everything valid from `start` on.
function trustedRoot(sigstore, extra = [], start = new Date(Date.now() - 24 * 3600 * 1000)) {
  const key = (der) => ({
    rawBytes: Buffer.from(der),
    keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
    validFor: { start },
  });
  const authority = (f) => ({
    subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
    uri: 'https://fulcio.local',
    certChain: { certificates: [{ rawBytes: f.rootCertificate }] },
    validFor: { start },
  });
  return TrustedRoot.toJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: REKOR_URL,
      hashAlgorithm: HashAlgorithm.SHA2_256,
      publicKey: key(sigstore.tlog.publicKey),
      logId: { keyId: crypto.createHash('sha256').update(sigstore.tlog.publicKey).digest() },
    }],
    certificateAuthorities: [sigstore, ...extra].map(authority),
    ctlogs: [sigstore, ...extra].map((f) => ({
      baseUrl: 'https://ctfe.local',
      hashAlgorithm: HashAlgorithm.SHA2_256,
      publicKey: key(f.ctlog.publicKey),
      logId: { keyId: Buffer.from(f.ctlog.logID) },
    })),
    timestampAuthorities: [],
  });
}

// A bundle (JSON) signed through `sigstore`'s Fulcio and logged by its Rekor: a DSSE envelope
// of an in-toto statement (content 'dsse', data the statement's bytes), or a message signature
// over data (content 'message'; Rekor logs a hashedrekord of its SHA-256). The certificate's
// identity and issuer are those of the OIDC token.
async function makeBundle(sigstore, { content, data, identity, issuer }) {
  const signer = new sign.FulcioSigner({
    fulcioBaseURL: sigstore.fulcio.url,
    identityProvider: { getToken: async () => token(identity, issuer) },
    retry: 0,
  });
  const witness = new sign.RekorWitness({ rekorBaseURL: sigstore.rekor.url, entryType: 'dsse', retry: 0 });
  const Builder = content === 'dsse' ? sign.DSSEBundleBuilder : sign.MessageSignatureBundleBuilder;
  const builder = new Builder({ signer, witnesses: [witness] });
  const artifact = content === 'dsse' ? { data, type: 'application/vnd.in-toto+json' } : { data };
  return bundleLib.bundleToJSON(await builder.create(artifact));
}

// The in-toto statement `cosign sign` (bundle format) makes for an image: its subject is the
// repository `name` at `digest`.
function statement(digest, name = 'registry.local/acme/web') {
  return Buffer.from(JSON.stringify({
    _type: STATEMENT_TYPE,
    subject: [{ name, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {},
  }));
}

// The oracle: @sigstore/verify with the trusted root and the identity policy, as agentd's
// configuration would give them. A message signature is verified against its artifact (for an
// image: the manifest, whose SHA-256 is the image digest; for cosign's legacy layout: the
// simple-signing payload).
function oracle(root, bundleJSON, policy, artifact) {
  try {
    const trust = verify.toTrustMaterial(TrustedRoot.fromJSON(root));
    const entity = verify.toSignedEntity(bundleLib.bundleFromJSON(bundleJSON), artifact);
    new verify.Verifier(trust).verify(entity, {
      subjectAlternativeName: policy.identity,
      extensions: { issuer: policy.issuer },
    });
    return { verified: true };
  } catch (e) {
    return { verified: false, error: `${e.code || e.name}: ${e.message}` };
  }
}

// Attaches a DSSE bundle to `target`@`digest` ("HOST:PORT/REPOSITORY") with @sigstore/oci, as
// `cosign sign` (bundle format) does: an OCI artifact manifest whose subject is the image; a
// registry without the referrers API (registry 2.8) gets the fallback tag index
// "sha256-<hex>" written too. Returns the artifact manifest's digest.
async function attachBundle(target, digest, bundleJSON) {
  const oci = require('@sigstore/oci');
  const descriptor = await oci.attachArtifactToImage({
    imageName: target,
    imageDigest: digest,
    artifact: Buffer.from(JSON.stringify(bundleJSON)),
    mediaType: BUNDLE_MEDIA_TYPE,
    annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': PREDICATE_TYPE },
    credentials: undefined,  // the test registry has no authentication
  });
  return descriptor.digest;
}

module.exports = {
  STATEMENT_TYPE, PREDICATE_TYPE, BUNDLE_MEDIA_TYPE,
  keyPair, startFulcio, startRekor, trustedRoot, makeBundle, statement, oracle, attachBundle,
};
