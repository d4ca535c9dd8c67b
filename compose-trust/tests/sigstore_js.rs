//! Bundles written here verify with sigstore-js (`@sigstore/verify` 3.1.1, Sigstore's own
//! JavaScript verifier, installed from the npm registry by `.ci/run`: `npm ci` in
//! `tests/sigstore-js`), offline with the public key alone; and what should fail fails there too.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use compose_model::Digest;
use compose_trust::{SigningKey, keys, sign, statement};

fn verifier() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore-js");
    assert!(
        dir.join("node_modules/@sigstore/verify").is_dir(),
        "this test needs sigstore-js: `npm ci --prefix {}` (.ci/run does it)",
        dir.display()
    );
    dir.join("verify.js")
}

/// sigstore-js's verdict: `Ok(())` or its message.
fn sigstore_js(dir: &Path, bundle: &str, artifact: &[u8], public_pem: &str) -> Result<(), String> {
    let (b, a, k) = (dir.join("b.json"), dir.join("a.wasm"), dir.join("k.pub"));
    std::fs::write(&b, bundle).unwrap();
    std::fs::write(&a, artifact).unwrap();
    std::fs::write(&k, public_pem).unwrap();
    let o = Command::new("node")
        .arg(verifier())
        .args([&b, &a, &k])
        .output()
        .expect("node (Node.js) runs sigstore-js");
    let out = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    match (o.status.success(), out.as_str()) {
        (true, "OK") => Ok(()),
        _ => Err(format!("{out} {}", String::from_utf8_lossy(&o.stderr))),
    }
}

#[test]
fn sigstore_js_verifies_our_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let made = keys::generate(&dir.path().join("k")).unwrap();
    let key = SigningKey::read(&made.private).unwrap();
    let other = keys::generate(&dir.path().join("other")).unwrap().key;
    let artifact = b"\0asm\x0d\0\x01\0 checked by sigstore-js";
    let pem = made.key.to_pem();

    // A P-256 messageSignature over the artifact.
    let bundle = sign::sign_artifact(artifact, &key).unwrap();
    sigstore_js(dir.path(), &bundle, artifact, &pem).unwrap();
    assert!(sigstore_js(dir.path(), &bundle, b"other bytes", &pem).is_err());
    assert!(sigstore_js(dir.path(), &bundle, artifact, &other.to_pem()).is_err());

    // A composition statement in a DSSE envelope, P-256 and Ed25519.
    let st = statement::composition("a.wasm", &Digest::of(artifact), &Digest::of(b"plan"));
    let dsse = sign::sign_statement(&st, &key).unwrap();
    sigstore_js(dir.path(), &dsse, artifact, &pem).unwrap();
    assert!(sigstore_js(dir.path(), &dsse, artifact, &other.to_pem()).is_err());
    let ed = SigningKey::read(&common::openssl_ed25519(dir.path())).unwrap();
    let ed_dsse = sign::sign_statement(&st, &ed).unwrap();
    sigstore_js(dir.path(), &ed_dsse, artifact, &ed.public_key().to_pem()).unwrap();
    // (sigstore-js 3.1.1 cannot check an Ed25519 *messageSignature*: it always passes a
    // SHA-256 digest name to Node's `crypto.verify`, which Ed25519 refuses. OpenSSL checks
    // those in sign_verify.rs.)

    // A flipped bit in the signature fails there too.
    let mut v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let sig = v["messageSignature"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    *raw.last_mut().unwrap() ^= 1;
    v["messageSignature"]["signature"] =
        base64::engine::general_purpose::STANDARD.encode(raw).into();
    assert!(sigstore_js(dir.path(), &v.to_string(), artifact, &pem).is_err());
}
