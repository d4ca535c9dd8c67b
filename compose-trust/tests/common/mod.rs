//! Helpers shared by this crate's tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use compose_trust::{Accepted, Policy, PublicKey};

/// A policy accepting `keys`.
pub fn keys(keys: &[&PublicKey]) -> Policy {
    Policy::new(keys.iter().map(|k| Accepted::Key((*k).clone())).collect()).unwrap()
}

/// Writes `text` to `path` with mode 0600.
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// An Ed25519 private key made by OpenSSL (an independent implementation), written 0600.
pub fn openssl_ed25519(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("ed25519.key");
    let o = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&path)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Whether OpenSSL verifies `signature` over `message` with the PEM public key `public`
/// (`-rawin`: the message itself, as Ed25519 and ECDSA-with-SHA-256 sign it).
pub fn openssl_verifies(dir: &Path, public: &str, message: &[u8], signature: &[u8]) -> bool {
    let (k, m, s) = (dir.join("v.pub"), dir.join("v.msg"), dir.join("v.sig"));
    std::fs::write(&k, public).unwrap();
    std::fs::write(&m, message).unwrap();
    std::fs::write(&s, signature).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&k)
        .arg("-rawin")
        .arg("-in")
        .arg(&m)
        .arg("-sigfile")
        .arg(&s);
    if !public.is_empty()
        && PublicKey::from_pem(public).unwrap().algorithm() == compose_trust::keys::Algorithm::P256
    {
        cmd.args(["-digest", "sha256"]);
    }
    cmd.output().expect("openssl").status.success()
}
