//! Real bundles made by Sigstore tooling verify, or are refused, exactly as their publishers
//! say. The assets are the test data that Sigstore's Rust verifier publishes with its crate
//! (`sigstore-verify` 0.15.1, a dependency, so Cargo has its sources), and the trusted roots
//! are Sigstore's public-good root as `sigstore-trust-root` 0.15.1 publishes it; nothing here
//! is copied into this repository.

use std::path::PathBuf;

use compose_model::Code;
use compose_trust::PublicKey;
use compose_trust::verify::{self, Accepted, BundleFile, Policy, TrustedRoot};

/// The source folder of the dependency `name` at `version` (the workspace pins both), as Cargo
/// unpacked it into its registry cache for this build.
fn crate_dir(name: &str, version: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let src = home.join("registry/src");
    std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
        .flatten()
        .map(|index| index.path().join(format!("{name}-{version}")))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("{name} {version} is not unpacked under {}", src.display()))
}

fn asset(path: &str) -> Vec<u8> {
    let p = crate_dir("sigstore-verify", "0.15.1")
        .join("test_data")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn production_root() -> TrustedRoot {
    TrustedRoot::read(&crate_dir("sigstore-trust-root", "0.15.1").join("src/trusted_root.json"))
        .unwrap()
}

fn bundle(path: &str) -> Vec<BundleFile> {
    vec![BundleFile {
        origin: path.into(),
        json: asset(path),
    }]
}

fn identity(id: &str, issuer: &str) -> Accepted {
    Accepted::Identity {
        identity: id.into(),
        issuer: issuer.into(),
    }
}

fn check(artifact: &[u8], bundle: &[BundleFile], policy: &Policy) -> Result<(), Code> {
    verify::verify(
        "asset",
        &compose_trust::Artifact::new(artifact),
        bundle,
        "",
        policy,
    )
    .map(|_| ())
    .map_err(|e| {
        eprintln!("{e}");
        e.code
    })
}

const COSIGN_ID: &str = "w.vollprecht@gmail.com";
const GITHUB_OAUTH: &str = "https://github.com/login/oauth";

/// A keyless v0.3 bundle made by cosign 3 (certificate, Rekor entry with inclusion proof, RFC
/// 3161 timestamp): verifies with its identity against the public-good root, and is refused
/// for another identity, another artifact, without a root, and against a root without the
/// timestamp authority.
#[test]
fn a_cosign_keyless_bundle_verifies_offline_against_the_public_good_root() {
    let artifact = asset("bundles/cosign-v3-blob.txt");
    let b = bundle("bundles/cosign-v3-blob.sigstore.json");
    let root = production_root();
    let ok = Policy::new(vec![identity(COSIGN_ID, GITHUB_OAUTH)])
        .unwrap()
        .trusted_root(&root)
        .unwrap();
    assert_eq!(check(&artifact, &b, &ok), Ok(()));
    let someone_else = Policy::new(vec![identity("mallory@example.com", GITHUB_OAUTH)])
        .unwrap()
        .trusted_root(&root)
        .unwrap();
    assert_eq!(
        check(&artifact, &b, &someone_else),
        Err(Code::TrustUnknownSigner)
    );
    let other_issuer = Policy::new(vec![identity(COSIGN_ID, "https://accounts.google.com")])
        .unwrap()
        .trusted_root(&root)
        .unwrap();
    assert_eq!(
        check(&artifact, &b, &other_issuer),
        Err(Code::TrustUnknownSigner)
    );
    assert_eq!(
        check(b"other bytes", &b, &ok),
        Err(Code::TrustWrongArtifact)
    );
    let no_root = Policy::new(vec![identity(COSIGN_ID, GITHUB_OAUTH)]).unwrap();
    assert_eq!(
        check(&artifact, &b, &no_root),
        Err(Code::TrustNoTrustedRoot)
    );
    // Only keys accepted: a keyless bundle is not one of them.
    let key =
        PublicKey::from_pem(&String::from_utf8(asset("managed-key/key.pub")).unwrap()).unwrap();
    let keys = Policy::new(vec![Accepted::Key(key)])
        .unwrap()
        .trusted_root(&root)
        .unwrap();
    assert_eq!(check(&artifact, &b, &keys), Err(Code::TrustUnknownSigner));
    // A root without the timestamp authority that vouches for the signing time.
    let public_good = TrustedRoot::from_json(&asset("trusted_roots/public-good.json")).unwrap();
    let old_root = Policy::new(vec![identity(COSIGN_ID, GITHUB_OAUTH)])
        .unwrap()
        .trusted_root(&public_good)
        .unwrap();
    assert_eq!(check(&artifact, &b, &old_root), Err(Code::TrustCertificate));
}

/// A keyed ("managed key") bundle from the Sigstore conformance suite, with its log entry:
/// verifies with its key (the entry checked against the root, or skipped without one), not
/// with another key.
#[test]
fn a_managed_key_bundle_verifies_with_its_key_only() {
    let artifact = asset("managed-key/artifact.txt");
    let b = bundle("managed-key/bundle.sigstore.json");
    let key =
        PublicKey::from_pem(&String::from_utf8(asset("managed-key/key.pub")).unwrap()).unwrap();
    let with_root = Policy::new(vec![Accepted::Key(key.clone())])
        .unwrap()
        .trusted_root(&production_root())
        .unwrap();
    assert_eq!(check(&artifact, &b, &with_root), Ok(()));
    let offline = Policy::new(vec![Accepted::Key(key)]).unwrap();
    assert_eq!(check(&artifact, &b, &offline), Ok(()));
    let dir = tempfile::tempdir().unwrap();
    let other = compose_trust::keys::generate(&dir.path().join("k"))
        .unwrap()
        .key;
    let other = Policy::new(vec![Accepted::Key(other)]).unwrap();
    assert_eq!(check(&artifact, &b, &other), Err(Code::TrustUnknownSigner));
    assert_eq!(
        check(b"not the artifact", &b, &with_root),
        Err(Code::TrustWrongArtifact)
    );
    // With a root, the log entry is checked: one altered is refused.
    let mut v: serde_json::Value =
        serde_json::from_slice(&asset("managed-key/bundle.sigstore.json")).unwrap();
    let entry = &mut v["verificationMaterial"]["tlogEntries"][0];
    let index: u64 = entry["logIndex"].as_str().unwrap().parse().unwrap();
    entry["logIndex"] = (index + 1).to_string().into();
    let altered = vec![BundleFile {
        origin: "altered".into(),
        json: v.to_string().into_bytes(),
    }];
    assert_eq!(
        check(&artifact, &altered, &with_root),
        Err(Code::TrustCertificate)
    );
}

/// A GitHub Actions attestation (DSSE, in-toto statement about a conda package) verifies with
/// the workflow's identity, and not for another artifact.
#[test]
fn a_github_actions_attestation_verifies_as_a_statement() {
    let artifact = asset("bundles/signed-package-2.1.0-hb0f4dca_0.conda");
    let b = bundle("bundles/conda-attestation.sigstore.json");
    let policy = Policy::new(vec![identity(
        "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main",
        "https://token.actions.githubusercontent.com",
    )])
    .unwrap()
    .trusted_root(&production_root())
    .unwrap();
    assert_eq!(check(&artifact, &b, &policy), Ok(()));
    assert_eq!(
        check(b"another package", &b, &policy),
        Err(Code::TrustWrongArtifact)
    );
}

/// A v0.1 bundle (certificate chain, Rekor entry with a signed entry timestamp) from the
/// Sigstore conformance suite's signing beacon verifies against the public-good root with the
/// beacon's workflow identity.
#[test]
fn a_v0_1_bundle_verifies() {
    let artifact = asset("managed-key/artifact.txt");
    let b = bundle("invalid-ct-key_fail/bundle.sigstore.json");
    let beacon = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let policy = Policy::new(vec![identity(
        beacon,
        "https://token.actions.githubusercontent.com",
    )])
    .unwrap()
    .trusted_root(&production_root())
    .unwrap();
    assert_eq!(check(&artifact, &b, &policy), Ok(()));
}

/// Deliberately broken assets are refused with the code for what is wrong with them.
#[test]
fn broken_assets_are_refused_with_their_reason() {
    let artifact = asset("managed-key/artifact.txt");
    // A trusted root whose CT log key is wrong: the certificate's SCT does not verify.
    let bad_ct = TrustedRoot::from_json(&asset("invalid-ct-key_fail/trusted_root.json")).unwrap();
    let anyone = |root: &TrustedRoot| {
        Policy::new(vec![identity("a@example.com", "https://issuer.example")])
            .unwrap()
            .trusted_root(root)
            .unwrap()
    };
    assert_eq!(
        check(
            &artifact,
            &bundle("invalid-ct-key_fail/bundle.sigstore.json"),
            &anyone(&bad_ct)
        ),
        Err(Code::TrustCertificate)
    );
    // Not a bundle media type at all.
    assert_eq!(
        check(
            &artifact,
            &bundle("bundles/bundle_invalid_version.txt.sigstore"),
            &anyone(&production_root())
        ),
        Err(Code::TrustMalformedBundle)
    );
    // A v0.1 bundle with an empty certificate chain.
    assert!(matches!(
        check(
            &artifact,
            &bundle("bundles/bundle_no_cert_v1.txt.sigstore"),
            &anyone(&production_root())
        ),
        Err(Code::TrustMalformedBundle | Code::TrustCertificate | Code::TrustWrongArtifact)
    ));
    // A trusted root that is not one.
    assert_eq!(
        TrustedRoot::from_json(b"{\"tlogs\": 3}")
            .err()
            .map(|e| e.code),
        Some(Code::TrustBadTrustedRoot)
    );
}
