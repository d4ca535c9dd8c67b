//! A required plan (`Policy::plan`), checking that stops once the policy is met, and the
//! verification cache: used only in a private store, keyed by every input of the decision.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use compose_model::blobs::BlobStore;
use compose_model::{Code, Digest};
use compose_trust::verify::BundleFile;
use compose_trust::{Artifact, Policy, PublicKey, SigningKey, cache, keys, sign, statement};

const ARTIFACT: &[u8] = b"\0asm\x0d\0\x01\0 a composed component";

fn key(dir: &Path, name: &str) -> (PublicKey, SigningKey) {
    let public = keys::generate(&dir.join(name)).unwrap().key;
    (public, SigningKey::read(&dir.join(name)).unwrap())
}

fn file(origin: &str, json: String) -> BundleFile {
    BundleFile {
        origin: origin.into(),
        json: json.into_bytes(),
    }
}

fn statement_for(plan: &Digest, signer: &SigningKey) -> String {
    let st = statement::composition("c.wasm", &Digest::of(ARTIFACT), plan);
    sign::sign_statement(&st, signer).unwrap()
}

fn check(bundles: &[BundleFile], policy: &Policy) -> Result<compose_trust::Verified, Code> {
    compose_trust::verify::verify("c.wasm", &Artifact::new(ARTIFACT), bundles, "", policy)
        .map_err(|e| e.code)
}

#[test]
fn a_required_plan_must_be_named_by_a_verified_statement() {
    let dir = tempfile::tempdir().unwrap();
    let (public, signer) = key(dir.path(), "k");
    let (_, stranger) = key(dir.path(), "s");
    let plan = Digest::of(b"the plan");
    let other = Digest::of(b"another plan");
    let bytes_only = file("m", sign::sign_artifact(ARTIFACT, &signer).unwrap());
    let policy = || common::keys(&[&public]).plan(plan);

    // Signed bytes, or a statement about another plan, do not cover this plan's grants.
    assert_eq!(
        check(std::slice::from_ref(&bytes_only), &policy()).unwrap_err(),
        Code::TrustPlanMismatch
    );
    let wrong = file("w", statement_for(&other, &signer));
    assert_eq!(
        check(&[bytes_only.clone(), wrong.clone()], &policy()).unwrap_err(),
        Code::TrustPlanMismatch
    );
    // A statement naming the plan, but by a key not accepted, counts for nothing.
    let forged = file("f", statement_for(&plan, &stranger));
    assert_eq!(
        check(&[bytes_only.clone(), forged], &policy()).unwrap_err(),
        Code::TrustPlanMismatch
    );
    // Checking goes on past bundles that verify but do not name the plan.
    let right = file("r", statement_for(&plan, &signer));
    let ok = check(&[bytes_only, wrong, right], &policy()).unwrap();
    assert!(ok.plans().contains(&plan));
    assert_eq!(ok.bundles, ["m", "w", "r"]);
}

#[test]
fn checking_stops_once_the_policy_is_met() {
    let dir = tempfile::tempdir().unwrap();
    let (public, signer) = key(dir.path(), "k");
    let good = file("good", sign::sign_artifact(ARTIFACT, &signer).unwrap());
    let garbage = file("garbage", "{}".into());
    let ok = check(&[good.clone(), garbage.clone()], &common::keys(&[&public])).unwrap();
    assert_eq!(ok.bundles, ["good"]);
    // A refused bundle before a good one does not stop the check.
    let ok = check(&[garbage, good], &common::keys(&[&public])).unwrap();
    assert_eq!(ok.bundles, ["good"]);
}

/// A store only this user can change (a fresh temporary folder is 0700).
fn private_store(dir: &Path) -> BlobStore {
    let root = dir.join("store");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
    let store = BlobStore::new(root);
    assert!(store.is_private());
    store
}

fn cached(
    store: &BlobStore,
    artifact: &[u8],
    bundles: &[BundleFile],
    policy: &Policy,
) -> Result<compose_trust::Verified, Code> {
    cache::verify(
        store.private(),
        "c.wasm",
        &Artifact::new(artifact),
        bundles,
        "",
        policy,
    )
    .map_err(|e| e.code)
}

fn entries(store: &BlobStore) -> usize {
    std::fs::read_dir(store.root().join("keys/verify")).map_or(0, |d| d.count())
}

#[test]
fn a_cached_result_answers_only_the_same_bytes_bundles_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let store = private_store(dir.path());
    let (public, signer) = key(dir.path(), "k");
    let (other_key, _) = key(dir.path(), "o");
    let plan = Digest::of(b"the plan");
    let bundles = [file("c.wasm.sigstore.json", statement_for(&plan, &signer))];
    let policy = || common::keys(&[&public]).plan(plan);

    let first = cached(&store, ARTIFACT, &bundles, &policy()).unwrap();
    assert_eq!(entries(&store), 1);
    let again = cached(&store, ARTIFACT, &bundles, &policy()).unwrap();
    assert_eq!(entries(&store), 1, "a hit writes nothing");
    assert_eq!(again.signers, first.signers);
    assert_eq!(again.claims, first.claims);
    assert_eq!(again.bundles, first.bundles);
    assert_eq!(again.digest, Digest::of(ARTIFACT));

    // Other bytes, an altered bundle, another key, another plan: each is checked afresh.
    assert_eq!(
        cached(&store, b"other bytes", &bundles, &policy()).unwrap_err(),
        Code::TrustWrongArtifact
    );
    let mut altered = bundles.clone();
    let text = String::from_utf8(altered[0].json.clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sig = v["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        &sig[..10],
        if &sig[10..11] == "A" { "B" } else { "A" }
    );
    altered[0].json = text.replace(sig, &(flipped + &sig[11..])).into_bytes();
    assert_eq!(
        cached(&store, ARTIFACT, &altered, &policy()).unwrap_err(),
        Code::TrustBadSignature
    );
    assert_eq!(
        cached(
            &store,
            ARTIFACT,
            &bundles,
            &common::keys(&[&other_key]).plan(plan)
        )
        .unwrap_err(),
        Code::TrustUnknownSigner
    );
    assert_eq!(
        cached(
            &store,
            ARTIFACT,
            &bundles,
            &common::keys(&[&public]).plan(Digest::of(b"x"))
        )
        .unwrap_err(),
        Code::TrustPlanMismatch
    );
    assert_eq!(entries(&store), 1, "refusals are never kept");
}

#[test]
fn a_store_others_can_write_is_neither_read_nor_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = private_store(dir.path());
    let (public, signer) = key(dir.path(), "k");
    let (_, stranger) = key(dir.path(), "s");
    let good = [file("b", sign::sign_artifact(ARTIFACT, &signer).unwrap())];
    let bad = [file("b", sign::sign_artifact(ARTIFACT, &stranger).unwrap())];
    let policy = || common::keys(&[&public]);
    cached(&store, ARTIFACT, &good, &policy()).unwrap();
    let (record, _) = store
        .get_key(
            "verify",
            &cache::key(&Artifact::new(ARTIFACT), &good, &policy()),
        )
        .expect("the success was kept");

    // Someone who can write the store plants that success under the key of a bundle signed by
    // a stranger (the key is no secret: anyone can compute it).
    std::fs::set_permissions(store.root(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(!store.is_private());
    let planted = cache::key(&Artifact::new(ARTIFACT), &bad, &policy());
    store.set_key("verify", &planted, &record).unwrap();

    // Not private: the planted entry is not read, and the stranger's bundle is refused.
    assert_eq!(
        cached(&store, ARTIFACT, &bad, &policy()).unwrap_err(),
        Code::TrustUnknownSigner
    );
    // Nor is anything written there.
    let before = entries(&store);
    let (other, other_signer) = key(dir.path(), "o");
    let fresh = [file(
        "b",
        sign::sign_artifact(ARTIFACT, &other_signer).unwrap(),
    )];
    cached(&store, ARTIFACT, &fresh, &common::keys(&[&other])).unwrap();
    assert_eq!(entries(&store), before);

    // The same entry in a private store would be believed: which is why only a private store
    // is used at all.
    std::fs::set_permissions(store.root(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(store.is_private());
    assert!(cached(&store, ARTIFACT, &bad, &policy()).is_ok());
}
