//! Round trips with P-256 and Ed25519 keys, each signature checked by an independent
//! implementation (the `p256` crate, OpenSSL), and every refusal with its own code.

mod common;

use base64::Engine as _;
use compose_model::{Code, Digest};
use compose_trust::keys::{self, Algorithm};
use compose_trust::verify::{self, BundleFile};
use compose_trust::{Accepted, Policy, PublicKey, SigningKey, sign, statement};

const ARTIFACT: &[u8] = b"\0asm\x0d\0\x01\0 a component's bytes";

fn bundle(json: String) -> Vec<BundleFile> {
    vec![BundleFile {
        origin: "a.wasm.sigstore.json".into(),
        json: json.into_bytes(),
    }]
}

fn refusal(artifact: &[u8], bundles: &[BundleFile], policy: &Policy) -> Code {
    match verify::verify(
        "a.wasm",
        &compose_trust::Artifact::new(artifact),
        bundles,
        "looked in a test",
        policy,
    ) {
        Ok(v) => panic!("verified: {v:?}"),
        Err(e) => {
            assert!(e.message.contains("a.wasm"), "{e}");
            e.code
        }
    }
}

fn signature_of(json: &str) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let sig = v["messageSignature"]["signature"].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap()
}

#[test]
fn keygen_writes_a_private_pkcs8_key_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("release.key");
    let made = keys::generate(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let private = std::fs::read_to_string(&path).unwrap();
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{private}"
    );
    let public = std::fs::read_to_string(dir.path().join("release.key.pub")).unwrap();
    assert_eq!(PublicKey::from_pem(&public).unwrap(), made.key);
    assert_eq!(made.key.algorithm(), Algorithm::P256);
    // An independent reader of the same files: the p256 crate.
    use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let sk = p256::SecretKey::from_pkcs8_pem(&private).unwrap();
    let pk = p256::PublicKey::from_public_key_pem(&public).unwrap();
    assert_eq!(sk.public_key(), pk);
    // Never overwritten, neither half, and nothing else written.
    let again = keys::generate(&path).unwrap_err();
    assert_eq!(again.code, Code::TrustKey);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), private);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(keys::generate(&path).unwrap_err().code, Code::TrustKey);
    assert!(
        !path.exists(),
        "a private key was written beside an existing .pub"
    );
    // Through a symlink neither.
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    assert_eq!(keys::generate(&link).unwrap_err().code, Code::TrustKey);
    assert!(!dir.path().join("elsewhere").exists());
}

#[test]
fn a_private_key_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    keys::generate(&path).unwrap();
    for mode in [0o640, 0o604, 0o660, 0o644] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = SigningKey::read(&path).unwrap_err();
        assert_eq!(e.code, Code::TrustKey, "{mode:o}");
        assert!(e.message.contains("chmod 600"), "{e}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    SigningKey::read(&path).unwrap();
    // A public key given where a private one is expected says so.
    let e = SigningKey::read(&dir.path().join("k.pub")).unwrap_err();
    assert_eq!(e.code, Code::TrustKey);
}

#[test]
fn p256_bundles_round_trip_and_verify_independently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let made = keys::generate(&path).unwrap();
    let key = SigningKey::read(&path).unwrap();
    let json = sign::sign_artifact(ARTIFACT, &key).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["mediaType"], compose_trust::BUNDLE_MEDIA_TYPE);
    assert_eq!(
        v["verificationMaterial"]["publicKey"]["hint"],
        made.key.fingerprint()
    );
    assert_eq!(
        v["messageSignature"]["messageDigest"]["algorithm"],
        "SHA2_256"
    );
    let digest = base64::engine::general_purpose::STANDARD
        .decode(
            v["messageSignature"]["messageDigest"]["digest"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(digest, Digest::of(ARTIFACT).as_bytes());

    let ok = verify::verify(
        "a.wasm",
        &compose_trust::Artifact::new(ARTIFACT),
        &bundle(json.clone()),
        "",
        &common::keys(&[&made.key]),
    )
    .unwrap();
    assert_eq!(ok.signers, [format!("key {}", made.key.fingerprint())]);

    // Independent checks of the raw signature: the p256 crate and OpenSSL.
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::DecodePublicKey;
    let vk = p256::ecdsa::VerifyingKey::from_public_key_der(made.key.der()).unwrap();
    let sig = p256::ecdsa::Signature::from_der(&signature_of(&json)).unwrap();
    vk.verify(ARTIFACT, &sig).unwrap();
    assert!(common::openssl_verifies(
        dir.path(),
        &made.key.to_pem(),
        ARTIFACT,
        &signature_of(&json)
    ));
    assert!(!common::openssl_verifies(
        dir.path(),
        &made.key.to_pem(),
        b"other",
        &signature_of(&json)
    ));
}

#[test]
fn ed25519_bundles_sign_the_bytes_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::openssl_ed25519(dir.path());
    let key = SigningKey::read(&path).unwrap();
    assert_eq!(key.public_key().algorithm(), Algorithm::Ed25519);
    let json = sign::sign_artifact(ARTIFACT, &key).unwrap();
    let public = key.public_key().clone();
    verify::verify(
        "a.wasm",
        &compose_trust::Artifact::new(ARTIFACT),
        &bundle(json.clone()),
        "",
        &common::keys(&[&public]),
    )
    .unwrap();
    // Pure Ed25519 over the artifact's bytes: OpenSSL verifies the raw signature over them.
    assert!(common::openssl_verifies(
        dir.path(),
        &public.to_pem(),
        ARTIFACT,
        &signature_of(&json)
    ));
    // And a different artifact is refused.
    assert_eq!(
        refusal(b"other bytes", &bundle(json), &common::keys(&[&public])),
        Code::TrustWrongArtifact
    );
}

#[test]
fn every_refusal_has_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let a = keys::generate(&dir.path().join("a")).unwrap().key;
    let b = keys::generate(&dir.path().join("b")).unwrap().key;
    let ka = SigningKey::read(&dir.path().join("a")).unwrap();
    let kb = SigningKey::read(&dir.path().join("b")).unwrap();
    let by_a = sign::sign_artifact(ARTIFACT, &ka).unwrap();
    let only_b = common::keys(&[&b]);

    // Unsigned.
    assert_eq!(refusal(ARTIFACT, &[], &only_b), Code::TrustUnsigned);
    // Signed, but not by an accepted signer.
    assert_eq!(
        refusal(ARTIFACT, &bundle(by_a.clone()), &only_b),
        Code::TrustUnknownSigner
    );
    // A bundle for another artifact.
    let other = sign::sign_artifact(b"other", &kb).unwrap();
    assert_eq!(
        refusal(ARTIFACT, &bundle(other), &only_b),
        Code::TrustWrongArtifact
    );
    // A signature over other bytes, with this artifact's digest put in: the signature fails.
    let mut v: serde_json::Value =
        serde_json::from_str(&sign::sign_artifact(b"other", &kb).unwrap()).unwrap();
    v["messageSignature"]["messageDigest"]["digest"] = base64::engine::general_purpose::STANDARD
        .encode(Digest::of(ARTIFACT).as_bytes())
        .into();
    assert_eq!(
        refusal(ARTIFACT, &bundle(v.to_string()), &only_b),
        Code::TrustBadSignature
    );
    // The hint never chooses the key: a bundle by `a` that claims to be `b`'s is refused.
    let mut v: serde_json::Value = serde_json::from_str(&by_a).unwrap();
    v["verificationMaterial"]["publicKey"]["hint"] = b.fingerprint().into();
    assert_ne!(
        refusal(ARTIFACT, &bundle(v.to_string()), &only_b),
        Code::TrustUnsigned
    );
    // Malformed.
    for junk in [
        "",
        "{}",
        "not json",
        r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
    ] {
        assert_eq!(
            refusal(ARTIFACT, &bundle(junk.into()), &only_b),
            Code::TrustMalformedBundle,
            "{junk}"
        );
    }
    // Keyless without a trusted root: a bundle with a certificate instead of a key.
    let mut v: serde_json::Value = serde_json::from_str(&by_a).unwrap();
    v["verificationMaterial"] = serde_json::json!({
        "certificate": { "rawBytes": base64::engine::general_purpose::STANDARD.encode(b"not a real certificate") },
        "tlogEntries": []
    });
    let keyless = Policy::new(vec![Accepted::Identity {
        identity: "a@example.com".into(),
        issuer: "https://issuer.example".into(),
    }])
    .unwrap();
    assert_eq!(
        refusal(ARTIFACT, &bundle(v.to_string()), &keyless),
        Code::TrustNoTrustedRoot
    );

    // A keyless bundle when only keys are accepted: not an accepted signer (no root needed to
    // say so).
    assert_eq!(
        refusal(ARTIFACT, &bundle(v.to_string()), &only_b),
        Code::TrustUnknownSigner
    );
    // A DSSE envelope of another payload type is not a statement.
    let st = statement::composition("a.wasm", &Digest::of(ARTIFACT), &Digest::of(b"p"));
    let mut d: serde_json::Value =
        serde_json::from_str(&sign::sign_statement(&st, &kb).unwrap()).unwrap();
    d["dsseEnvelope"]["payloadType"] = "text/plain".into();
    assert_eq!(
        refusal(ARTIFACT, &bundle(d.to_string()), &only_b),
        Code::TrustMalformedBundle
    );
    // The same key listed twice is one signer: a threshold of 2 can never be met by it.
    assert_eq!(
        common::keys(&[&a, &a]).threshold(2).unwrap_err().code,
        Code::TrustThreshold
    );
    // With several bundles refused, the most telling code, whatever their order.
    let other = sign::sign_artifact(b"other", &kb).unwrap();
    for order in [
        [bundle("junk".into()), bundle(other.clone())],
        [bundle(other.clone()), bundle("junk".into())],
    ] {
        assert_eq!(
            refusal(ARTIFACT, &order.concat(), &only_b),
            Code::TrustWrongArtifact
        );
    }

    // Thresholds: 2 of {a, b} with only a's bundle, then with both (in either order), and
    // the same signer twice counts once.
    let two = common::keys(&[&a, &b]).threshold(2).unwrap();
    assert_eq!(
        refusal(ARTIFACT, &bundle(by_a.clone()), &two),
        Code::TrustThreshold
    );
    let twice = [
        bundle(by_a.clone()),
        bundle(sign::sign_artifact(ARTIFACT, &ka).unwrap()),
    ]
    .concat();
    assert_eq!(refusal(ARTIFACT, &twice, &two), Code::TrustThreshold);
    let both = [
        bundle(sign::sign_artifact(ARTIFACT, &kb).unwrap()),
        bundle(by_a.clone()),
    ]
    .concat();
    let ok = verify::verify(
        "a.wasm",
        &compose_trust::Artifact::new(ARTIFACT),
        &both,
        "",
        &two,
    )
    .unwrap();
    assert_eq!(ok.signers.len(), 2);
    // Key rotation: any one accepted signer among several bundles.
    let rotated = [
        bundle(sign::sign_artifact(ARTIFACT, &kb).unwrap()),
        bundle("junk".into()),
    ]
    .concat();
    verify::verify(
        "a.wasm",
        &compose_trust::Artifact::new(ARTIFACT),
        &rotated,
        "",
        &common::keys(&[&b]),
    )
    .unwrap();
    assert_eq!(
        common::keys(&[&a]).threshold(2).unwrap_err().code,
        Code::TrustThreshold
    );
}

#[test]
fn composition_statements_name_the_component_and_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let key = keys::generate(&dir.path().join("k")).unwrap().key;
    let signer = SigningKey::read(&dir.path().join("k")).unwrap();
    let plan = Digest::of(b"plan cbor");
    let st = statement::composition("hello.wasm", &Digest::of(ARTIFACT), &plan);
    let json = sign::sign_statement(&st, &signer).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    let ok = verify::verify(
        "hello.wasm",
        &compose_trust::Artifact::new(ARTIFACT),
        &bundle(json.clone()),
        "",
        &common::keys(&[&key]),
    )
    .unwrap();
    assert_eq!(ok.plans().into_iter().collect::<Vec<_>>(), [plan]);
    // The envelope's signature is over DSSE's PAE, checked here with the p256 crate.
    let payload = base64::engine::general_purpose::STANDARD
        .decode(v["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(v["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let pae = [
        format!("DSSEv1 28 application/vnd.in-toto+json {} ", payload.len()).into_bytes(),
        payload.clone(),
    ]
    .concat();
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::DecodePublicKey;
    p256::ecdsa::VerifyingKey::from_public_key_der(key.der())
        .unwrap()
        .verify(&pae, &p256::ecdsa::Signature::from_der(&sig).unwrap())
        .unwrap();
    // Another component is refused, and so is an altered payload (another plan).
    assert_eq!(
        refusal(b"other", &bundle(json.clone()), &common::keys(&[&key])),
        Code::TrustWrongArtifact
    );
    let forged = String::from_utf8(payload)
        .unwrap()
        .replace(&plan.hex(), &Digest::of(b"x").hex());
    let mut v2 = v.clone();
    v2["dsseEnvelope"]["payload"] = base64::engine::general_purpose::STANDARD
        .encode(forged)
        .into();
    assert_ne!(
        verify::verify(
            "hello.wasm",
            &compose_trust::Artifact::new(ARTIFACT),
            &bundle(v2.to_string()),
            "",
            &common::keys(&[&key])
        )
        .map(|_| ()),
        Ok(())
    );
}

#[test]
fn plans_name_keys_inline_or_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = keys::generate(&dir.path().join("release.key")).unwrap().key;
    let by_file = PublicKey::from_plan_value("release.key.pub", dir.path()).unwrap();
    let inline = PublicKey::from_plan_value(&key.to_base64(), dir.path()).unwrap();
    assert_eq!(by_file, key);
    assert_eq!(inline, key);
    assert_eq!(
        PublicKey::from_plan_value("missing.pub", dir.path())
            .unwrap_err()
            .code,
        Code::TrustKey
    );
    assert_eq!(
        PublicKey::from_plan_value("bm90IGEga2V5", dir.path())
            .unwrap_err()
            .code,
        Code::TrustKey
    );
}
