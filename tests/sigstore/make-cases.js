#!/usr/bin/env node
// Makes Sigstore keyless bundles for agentd's tests with Sigstore's own JavaScript packages,
// fully offline: a mock Fulcio (CA + CT log) and a mock Rekor from @sigstore/mock are served on
// 127.0.0.1, @sigstore/sign signs through them, and @sigstore/verify (the oracle) gives its
// verdict on every case. agentd's code makes none of these artifacts.
//
// Usage: node make-cases.js OUT_DIR [--push HOST:PORT/REPOSITORY]
//   The image is a small OCI image manifest made here (image-manifest.json in OUT_DIR); its
//   digest is what the good bundles are about: the DSSE statement's subject, and the message
//   that the message signature signs is the manifest itself, as for any artifact.
//   OUT_DIR gets trusted_root.json (protobuf-specs TrustedRoot JSON naming the mock CA, the
//   mock Rekor's and CT log's keys), one bundle file per case and cases.json:
//     {"digest": "sha256:...", "identity": "...", "issuer": "...",
//      "cases": [{"name", "file", "content": "dsse"|"message", "identity", "issuer",
//                 "oracle": {"verified": bool, "error": "..."},      what @sigstore/verify says
//                 "subject_matches": bool,     the statement (or message digest) names digest
//                 "expected": "verified"|"rejected"}]}
//   --push: also push the image to that plain-HTTP repository (tag "signed") and attach the
//     good DSSE bundle to it with @sigstore/oci, as an OCI artifact whose subject is the image;
//     a registry without the referrers API (registry 2.8) gets the fallback tag index
//     "sha256-<hex>" written too. cases.json's "pushed" names the repository, the image and
//     the artifact.
// Every run makes new mock keys: sign everything one test needs in one run.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const {
  PREDICATE_TYPE, BUNDLE_MEDIA_TYPE, startFulcio, startRekor, trustedRoot, makeBundle, statement, oracle,
  attachBundle,
} = require('./mock-sigstore');
const registry = require('./registry');

const { sha256Digest } = registry;

const IDENTITY = 'https://github.com/acme/web/.github/workflows/release.yml@refs/tags/v1.0.0';
const ISSUER = 'https://token.actions.githubusercontent.com';
const OTHER_IDENTITY = 'https://github.com/mallory/web/.github/workflows/release.yml@refs/heads/main';
const OTHER_ISSUER = 'https://accounts.example.com';

function usage(message) {
  process.stderr.write(`make-cases: ${message}\n` +
    'usage: node make-cases.js OUT_DIR [--push HOST:PORT/REPOSITORY]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const out = { dir: null, push: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--push') {
      if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
      out[argv[i].slice(2)] = argv[++i];
    } else if (argv[i].startsWith('-')) {
      usage(`unknown option ${argv[i]}`);
    } else if (out.dir === null) {
      out.dir = argv[i];
    } else {
      usage('one OUT_DIR only');
    }
  }
  if (out.dir === null) usage('OUT_DIR is missing');
  if (out.push !== null && !/^127\.0\.0\.1:[0-9]+\/[a-z0-9._\/-]+$/.test(out.push)) {
    usage('--push must be 127.0.0.1:PORT/REPOSITORY');
  }
  return out;
}

function subjectMatches(bundleJSON, digest) {
  if (bundleJSON.dsseEnvelope) {
    const payload = JSON.parse(Buffer.from(bundleJSON.dsseEnvelope.payload, 'base64').toString('utf8'));
    return payload.subject.some((s) => s.digest && s.digest.sha256 === digest.slice('sha256:'.length));
  }
  const messageDigest = bundleJSON.messageSignature.messageDigest;
  return messageDigest.algorithm === 'SHA2_256' &&
    Buffer.from(messageDigest.digest, 'base64').toString('hex') === digest.slice('sha256:'.length);
}

function flipByte(base64, at) {
  const bytes = Buffer.from(base64, 'base64');
  bytes[at % bytes.length] ^= 0x01;
  return bytes.toString('base64');
}

// A minimal OCI image: an empty JSON config and one small random layer. Returns the blobs and
// the manifest's bytes.
function makeImage() {
  const config = Buffer.from('{}');
  const layer = crypto.randomBytes(64);
  const descriptor = (data) => ({ digest: sha256Digest(data), size: data.length });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...descriptor(config) },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...descriptor(layer) }],
  }));
  return { blobs: [config, layer], manifest, digest: sha256Digest(manifest) };
}

// Pushes the image to a plain-HTTP registry with the distribution API (monolithic uploads).
async function pushImage(target, tag, image) {
  for (const data of image.blobs) await registry.pushBlob(target, data);
  await registry.putManifest(target, tag, image.manifest, 'application/vnd.oci.image.manifest.v1+json');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const image = makeImage();
  const other = makeImage();  // an image the bad cases were signed for instead
  const digest = image.digest;
  if (args.push) {
    await pushImage(args.push, 'signed', image);
  }
  fs.mkdirSync(args.dir, { recursive: true });
  fs.writeFileSync(path.join(args.dir, 'image-manifest.json'), image.manifest);

  // One Rekor logs every case, so that each bad case has one fault only.
  const rekor = await startRekor();
  const sigstore = { ...(await startFulcio()), ...rekor };
  const strangers = { ...(await startFulcio()), ...rekor };  // a CA not in the trusted root
  // A CA whose clock is two hours behind: its 10-minute certificate has expired when Rekor
  // logs the signature, so no log timestamp falls inside its validity. It is in the root.
  const late = { ...(await startFulcio({ caClock: new Date(Date.now() - 2 * 3600 * 1000) })), ...rekor };
  try {
    const root = trustedRoot(sigstore, [late]);
    fs.writeFileSync(path.join(args.dir, 'trusted_root.json'), JSON.stringify(root, null, 2));
    const policy = { identity: IDENTITY, issuer: ISSUER };

    const good = await makeBundle(sigstore, { content: 'dsse', data: statement(digest), ...policy });
    // A message signature is over the bytes given (the manifest); its messageDigest names
    // their SHA-256, which is the image digest.
    const message = await makeBundle(sigstore, { content: 'message', data: image.manifest, ...policy });
    const otherMessage = await makeBundle(sigstore, { content: 'message', data: other.manifest, ...policy });

    const tampered = JSON.parse(JSON.stringify(good));
    const payload = JSON.parse(Buffer.from(tampered.dsseEnvelope.payload, 'base64').toString('utf8'));
    payload.predicate = { tampered: true };
    tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');

    const badSet = JSON.parse(JSON.stringify(good));
    const entry = badSet.verificationMaterial.tlogEntries[0];
    entry.inclusionPromise.signedEntryTimestamp = flipByte(entry.inclusionPromise.signedEntryTimestamp, 20);
    // The proof places the entry at index 1 of the one-entry tree the checkpoint signs.
    // (A changed inclusionProof.rootHash alone is not a case: @sigstore/verify chains to the
    // checkpoint's root and ignores that field, sigstore-go compares the two.)
    const badProof = JSON.parse(JSON.stringify(good));
    badProof.verificationMaterial.tlogEntries[0].inclusionProof.logIndex = '1';
    // The checkpoint's root hash line changed: its signature no longer holds.
    const badCheckpoint = JSON.parse(JSON.stringify(good));
    const checkpoint = badCheckpoint.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
    const lines = checkpoint.envelope.split('\n');
    lines[2] = flipByte(lines[2], 5);
    checkpoint.envelope = lines.join('\n');

    const cases = [
      { name: 'dsse-good', bundle: good, content: 'dsse', digest },
      { name: 'message-good', bundle: message, content: 'message', digest, artifact: image.manifest },
      { name: 'other-identity', content: 'dsse', digest,
        bundle: await makeBundle(sigstore, { content: 'dsse', data: statement(digest), identity: OTHER_IDENTITY, issuer: ISSUER }) },
      { name: 'other-issuer', content: 'dsse', digest,
        bundle: await makeBundle(sigstore, { content: 'dsse', data: statement(digest), identity: IDENTITY, issuer: OTHER_ISSUER }) },
      { name: 'tampered-payload', bundle: tampered, content: 'dsse', digest },
      { name: 'other-digest', content: 'dsse', digest,
        bundle: await makeBundle(sigstore, { content: 'dsse', data: statement(other.digest), ...policy }) },
      { name: 'message-other-digest', bundle: otherMessage, content: 'message', digest, artifact: other.manifest },
      { name: 'broken-set', bundle: badSet, content: 'dsse', digest },
      { name: 'broken-inclusion-proof', bundle: badProof, content: 'dsse', digest },
      { name: 'broken-checkpoint', bundle: badCheckpoint, content: 'dsse', digest },
      { name: 'untrusted-ca', content: 'dsse', digest,
        bundle: await makeBundle(strangers, { content: 'dsse', data: statement(digest), ...policy }) },
      { name: 'expired-certificate', content: 'dsse', digest,
        bundle: await makeBundle(late, { content: 'dsse', data: statement(digest), ...policy }) },
    ];
    const out = [];
    for (const c of cases) {
      const file = `${c.name}.sigstore.json`;
      fs.writeFileSync(path.join(args.dir, file), JSON.stringify(c.bundle));
      const verdict = oracle(root, c.bundle, policy, c.artifact);
      const matches = subjectMatches(c.bundle, c.digest);
      out.push({
        name: c.name, file, content: c.content, digest: c.digest, ...policy,
        oracle: verdict, subject_matches: matches,
        expected: verdict.verified && matches ? 'verified' : 'rejected',
      });
    }
    let pushed = null;
    if (args.push) {
      pushed = { repository: args.push, subject: digest, artifact: await attachBundle(args.push, digest, good),
        artifact_type: BUNDLE_MEDIA_TYPE, bundle: 'dsse-good.sigstore.json' };
    }
    const summary = { digest, identity: IDENTITY, issuer: ISSUER, cases: out, pushed };
    fs.writeFileSync(path.join(args.dir, 'cases.json'), JSON.stringify(summary, null, 2));
    for (const c of out) {
      process.stdout.write(`${c.name}: oracle ${c.oracle.verified ? 'verified' : 'rejected'}` +
        `${c.oracle.error ? ` (${c.oracle.error})` : ''}, subject ${c.subject_matches ? 'matches' : 'differs'}` +
        ` -> ${c.expected}\n`);
    }
    if (pushed) process.stdout.write(`pushed ${pushed.artifact} referring to ${args.push}@${digest}\n`);
  } finally {
    for (const server of [rekor.rekor, sigstore.fulcio, strangers.fulcio, late.fulcio]) server.close();
  }
}

main().catch((e) => {
  process.stderr.write(`make-cases: ${e.stack || e}\n${e.cause ? `cause: ${e.cause.stack || e.cause}\n` : ''}`);
  process.exit(1);
});
