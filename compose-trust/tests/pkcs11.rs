//! Signing inside a real SoftHSM2 token: the key pair is generated in the token, marked
//! sensitive and not extractable, and the bundle it signs verifies with the token's public key,
//! here and with the `p256` crate.

mod common;

use std::path::Path;
use std::process::Command;

use compose_model::Code;
use compose_trust::pkcs11::{SOFTHSM2_MODULE, TokenKey};
use compose_trust::{Signer, sign, verify};
use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

const PIN: &str = "1234";

/// A SoftHSM2 token `compose-trust` in `dir`; returns the config path for `SOFTHSM2_CONF`.
fn init_token(dir: &Path) -> std::path::PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let o = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "compose-trust",
            "--pin",
            PIN,
            "--so-pin",
            "5678",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect(
            "the PKCS#11 test needs SoftHSM2: `apt-get install softhsm2` (.ci/run installs it)",
        );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    conf
}

/// Generates a P-256 key pair labelled `release` inside the token (in this process, whose
/// `SOFTHSM2_CONF` names the token).
fn generate_in_token() {
    let p11 = Pkcs11::new(SOFTHSM2_MODULE).unwrap();
    p11.initialize(CInitializeArgs::OsThreads).unwrap();
    let slot = p11.get_slots_with_token().unwrap()[0];
    let session = p11.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
        .unwrap();
    // The DER OID of P-256 (prime256v1).
    let p256_oid = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let label = b"release".to_vec();
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(p256_oid),
                Attribute::Verify(true),
                Attribute::Label(label.clone()),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Label(label),
            ],
        )
        .unwrap();
    p11.finalize();
}

/// SoftHSM2 reads `SOFTHSM2_CONF` when its module is loaded, and this process's environment
/// cannot be changed safely: the test runs itself again as a child with it set.
fn in_child_with_token(test: &str) -> bool {
    if std::env::var_os("COMPOSE_TRUST_IN_TOKEN").is_some() {
        return true;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = init_token(dir.path());
    let o = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env("COMPOSE_TRUST_IN_TOKEN", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("1 passed"),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    false
}

#[test]
fn a_softhsm2_key_signs_bundles_that_verify_with_its_public_key() {
    if !in_child_with_token("a_softhsm2_key_signs_bundles_that_verify_with_its_public_key") {
        return;
    }
    generate_in_token();
    let key = TokenKey::open(Path::new(SOFTHSM2_MODULE), PIN, "release").unwrap();
    let public = key.public_key().clone();
    let artifact = b"\0asm a component signed in a token";
    let json = sign::sign_artifact(artifact, &key).unwrap();
    let bundles = vec![verify::BundleFile {
        origin: "t".into(),
        json: json.clone().into_bytes(),
    }];
    verify::verify(
        "t.wasm",
        &compose_trust::Artifact::new(artifact),
        &bundles,
        "",
        &common::keys(&[&public]),
    )
    .unwrap();
    // Independently: the p256 crate, over the artifact's bytes.
    use base64::Engine as _;
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::DecodePublicKey;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(v["messageSignature"]["signature"].as_str().unwrap())
        .unwrap();
    p256::ecdsa::VerifyingKey::from_public_key_der(public.der())
        .unwrap()
        .verify(artifact, &p256::ecdsa::Signature::from_der(&sig).unwrap())
        .unwrap();
    drop(key);
    // By token and label too; a wrong PIN, a missing label and a missing token are coded.
    let named = TokenKey::open(
        Path::new(SOFTHSM2_MODULE),
        PIN,
        "pkcs11:token=compose-trust;object=release",
    )
    .unwrap();
    assert_eq!(named.public_key(), &public);
    drop(named);
    for (pin, name) in [
        ("0000", "pkcs11:token=compose-trust;object=release"),
        (PIN, "missing"),
        (PIN, "pkcs11:token=nope;object=release"),
        (PIN, "pkcs11:token=compose-trust"),
    ] {
        let e = TokenKey::open(Path::new(SOFTHSM2_MODULE), pin, name).unwrap_err();
        assert_eq!(e.code, Code::TrustPkcs11, "{name}: {e}");
    }
    let e = TokenKey::open(Path::new("/nonexistent/libpkcs11.so"), PIN, "release").unwrap_err();
    assert_eq!(e.code, Code::TrustPkcs11);
}
