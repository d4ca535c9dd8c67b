// Verifies a Sigstore bundle with sigstore-js (@sigstore/verify), offline, with one public key
// and nothing else trusted (an empty trusted root, no log or timestamp required): an
// independent implementation checking the bundles compose-trust writes.
//
// node verify.js BUNDLE ARTIFACT KEY.pub  -> prints "OK" (exit 0) or "FAIL <code> <message>" (exit 1)
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, artifactPath, keyPath] = process.argv.slice(2);
const json = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
const artifact = fs.readFileSync(artifactPath);
const key = crypto.createPublicKey(fs.readFileSync(keyPath, 'utf8'));
const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
};
try {
  const bundle = bundleFromJSON(json);
  const hint = json.verificationMaterial.publicKey.hint;
  const trust = toTrustMaterial(EMPTY_ROOT, { [hint]: { rawBytes: key.export({ type: 'spki', format: 'der' }) } });
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  const entity = json.dsseEnvelope ? toSignedEntity(bundle) : toSignedEntity(bundle, artifact);
  verifier.verify(entity);
  console.log('OK');
} catch (e) {
  console.log(`FAIL ${e.code || ''} ${e.message}`);
  process.exit(1);
}
