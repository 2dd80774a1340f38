// The distribution API of a plain-HTTP registry (the test registry, registry 2.8), as much as
// the Sigstore fixtures need to push and read images and signatures: monolithic blob uploads,
// manifests by tag or digest. A target is "HOST:PORT/REPOSITORY".
'use strict';

const crypto = require('crypto');

const sha256Digest = (data) => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;

function base(target) {
  const slash = target.indexOf('/');
  return `http://${target.slice(0, slash)}/v2/${target.slice(slash + 1)}`;
}

async function pushBlob(target, data) {
  const digest = sha256Digest(data);
  const started = await fetch(`${base(target)}/blobs/uploads/`, { method: 'POST' });
  if (started.status !== 202) throw new Error(`blob upload start to ${target}: HTTP ${started.status}`);
  const location = new URL(started.headers.get('location'), base(target));
  location.searchParams.set('digest', digest);
  const done = await fetch(location, {
    method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (done.status !== 201) throw new Error(`blob upload to ${target}: HTTP ${done.status}`);
  return digest;
}

// PUTs a manifest (bytes) under `reference` (a tag or its digest); returns its digest.
async function putManifest(target, reference, bytes, mediaType) {
  const put = await fetch(`${base(target)}/manifests/${reference}`, {
    method: 'PUT', body: bytes, headers: { 'Content-Type': mediaType },
  });
  if (put.status !== 201) {
    throw new Error(`manifest upload to ${target}:${reference}: HTTP ${put.status} ${await put.text()}`);
  }
  return sha256Digest(bytes);
}

// The manifest at `reference` as {bytes, mediaType}, or null when the registry answers 404.
async function getManifest(target, reference, accept) {
  const got = await fetch(`${base(target)}/manifests/${reference}`, { headers: { Accept: accept.join(', ') } });
  if (got.status === 404) return null;
  if (got.status !== 200) throw new Error(`GET manifest ${target}:${reference}: HTTP ${got.status}`);
  return { bytes: Buffer.from(await got.arrayBuffer()), mediaType: got.headers.get('content-type') };
}

// A blob's bytes; its digest is checked.
async function getBlob(target, digest) {
  const got = await fetch(`${base(target)}/blobs/${digest}`);
  if (got.status !== 200) throw new Error(`GET blob ${target}@${digest}: HTTP ${got.status}`);
  const bytes = Buffer.from(await got.arrayBuffer());
  if (sha256Digest(bytes) !== digest) throw new Error(`blob ${target}@${digest}: digest mismatch`);
  return bytes;
}

module.exports = { sha256Digest, pushBlob, putManifest, getManifest, getBlob };
