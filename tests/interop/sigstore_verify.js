// sigstore_verify.js - verify a key-signed Sigstore bundle with @sigstore/verify
// (3.x), as an independent check of the bundles tagseal writes: no
// transparency log, no timestamps (thresholds 0), the key found by its hint.
//   node sigstore_verify.js MODULE_DIR BUNDLE.json KEY.pub [SUBJECT_DIGEST]
// Exit 0 and "verified" when the bundle verifies (and, with SUBJECT_DIGEST,
// its statement's subject is that digest); 1 with the reason otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [modDir, bundlePath, keyPath, subject] = process.argv.slice(2);
const req = (m) => require(path.join(modDir, 'node_modules', m));
const { Verifier, toSignedEntity, toTrustMaterial } = req('@sigstore/verify');
const { bundleFromJSON } = req('@sigstore/bundle');

const key = crypto.createPublicKey(fs.readFileSync(keyPath));
const der = key.export({ type: 'spki', format: 'der' });
const wantHint = crypto.createHash('sha256').update(der).digest('base64');
let seenHint = null;
const trust = toTrustMaterial(
  { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
  (hint) => {
    seenHint = hint;
    if (hint !== wantHint) throw new Error(`key hint ${hint} is not ${wantHint}`);
    return { publicKey: key, validFor: () => true };
  });
try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  if (subject) {
    const env = bundle.content && bundle.content.dsseEnvelope;
    if (!env) throw new Error("not a DSSE bundle");
    const st = JSON.parse(Buffer.from(env.payload).toString("utf8"));
    const hex = subject.replace(/^sha256:/, '');
    if (!st.subject.some((s) => s.digest && s.digest.sha256 === hex))
      throw new Error(`statement subject is not ${subject}`);
  }
  console.log(`verified (hint ${seenHint})`);
} catch (e) {
  console.log(`not verified: ${e.message}`);
  process.exit(1);
}
