//! An embedded composition checks its embedded bundles at load against keys the application
//! gives (`Builder::require_signature`): refused, before anything is compiled or instantiated,
//! unless one of those keys signed a statement naming this component and plan.

use compose_model::{Code, Digest, plan};
use compose_runtime::Embedded;
use compose_runtime::trust::{SigningKey, keys, sign, statement};

const GREET: &str = "package example:greet;\ninterface greeter { greet: func(name: string) -> string; }\nworld provider { export greeter; }\n";

fn leak(b: Vec<u8>) -> &'static [u8] {
    Box::leak(b.into_boxed_slice())
}

fn text(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn embedded_bundles_are_checked_against_the_applications_keys() {
    let dir = tempfile::tempdir().unwrap();
    let release = keys::generate(&dir.path().join("release")).unwrap().key;
    let other = keys::generate(&dir.path().join("other")).unwrap().key;
    let signer = SigningKey::read(&dir.path().join("release")).unwrap();
    let outsider = SigningKey::read(&dir.path().join("other")).unwrap();

    let component = leak(compose_wit::testing::component_from_wit(
        &[("greet.wit", GREET)],
        "provider",
    ));
    let p = plan::from_toml("name = \"greeter\"\n[components.greeter]\npath = \"greeter.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"greeter\"\n").unwrap();
    let cbor = leak(p.to_cbor());
    let (component_digest, plan_digest) = (Digest::of(component), Digest::of(cbor));
    let embedded = Embedded::new(
        "greeter",
        cbor,
        text(plan_digest.to_string()),
        component,
        text(component_digest.to_string()),
    );
    let with = |bundles: Vec<String>| -> Embedded {
        let b: Vec<&'static str> = bundles.into_iter().map(text).collect();
        embedded.with_bundles(Box::leak(b.into_boxed_slice()))
    };
    let refused = |e: Embedded, keys: Vec<compose_runtime::trust::PublicKey>| {
        e.builder()
            .require_signature(keys)
            .load()
            .err()
            .map(|e| e.code)
    };
    let composition = statement::composition("greeter", &component_digest, &plan_digest);
    let good = sign::sign_statement(&composition, &signer).unwrap();

    // Not asked: loads whatever is embedded.
    embedded.builder().load().unwrap();
    // Asked: nothing embedded, signed by another key, over the bytes only, for another plan.
    assert_eq!(
        refused(embedded, vec![release.clone()]),
        Some(Code::TrustUnsigned)
    );
    assert_eq!(
        refused(
            with(vec![sign::sign_statement(&composition, &outsider).unwrap()]),
            vec![release.clone()]
        ),
        Some(Code::TrustUnknownSigner)
    );
    assert_eq!(
        refused(
            with(vec![sign::sign_artifact(component, &signer).unwrap()]),
            vec![release.clone()]
        ),
        Some(Code::TrustPlanMismatch)
    );
    let other_plan =
        statement::composition("greeter", &component_digest, &Digest::of(b"another plan"));
    assert_eq!(
        refused(
            with(vec![sign::sign_statement(&other_plan, &signer).unwrap()]),
            vec![release.clone()]
        ),
        Some(Code::TrustPlanMismatch)
    );
    // Asked with no key at all: refused, never run unchecked.
    assert!(refused(with(vec![good.clone()]), vec![]).is_some());
    // The right key: loads, and so does any one of several.
    with(vec![good.clone()])
        .builder()
        .require_signature([release.clone()])
        .load()
        .unwrap();
    with(vec![good])
        .builder()
        .require_signature([other, release])
        .load()
        .unwrap();
}

/// With a signature required, embedded precompiled code runs only if a verified statement
/// names it too; otherwise the signed component is compiled at load.
#[test]
fn precompiled_code_runs_only_when_the_signature_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let release = keys::generate(&dir.path().join("release")).unwrap().key;
    let signer = SigningKey::read(&dir.path().join("release")).unwrap();
    let component = leak(compose_wit::testing::component_from_wit(
        &[("greet.wit", GREET)],
        "provider",
    ));
    let p = plan::from_toml("name = \"greeter\"\n[components.greeter]\npath = \"greeter.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"greeter\"\n").unwrap();
    let cbor = leak(p.to_cbor());
    let code = compose_build::precompile::precompile(component, &p.policy, None).unwrap();
    let code_bytes = leak(code.bytes);
    let (component_digest, plan_digest, code_digest) = (
        Digest::of(component),
        Digest::of(cbor),
        Digest::of(code_bytes),
    );
    let embedded = Embedded::new(
        "greeter",
        cbor,
        text(plan_digest.to_string()),
        component,
        text(component_digest.to_string()),
    )
    .with_precompiled(
        code_bytes,
        text(code_digest.to_string()),
        text(code.compatibility.to_string()),
    );
    let with = |st: &statement::Statement| {
        let b = sign::sign_statement(st, &signer).unwrap();
        let b: &'static [&'static str] = Box::leak(vec![text(b)].into_boxed_slice());
        embedded.with_bundles(b)
    };
    // Not required: the precompiled code is used.
    assert!(embedded.builder().load().unwrap().from_precompiled());
    // Required, the statement naming the component and plan only: compiled at load.
    let bare = statement::composition("greeter", &component_digest, &plan_digest);
    let c = with(&bare)
        .builder()
        .require_signature([release.clone()])
        .load()
        .unwrap();
    assert!(!c.from_precompiled());
    // Naming the code too: used.
    let covered = statement::composition_with_code(
        "greeter",
        &component_digest,
        &plan_digest,
        Some(&code_digest),
    );
    let c = with(&covered)
        .builder()
        .require_signature([release.clone()])
        .load()
        .unwrap();
    assert!(c.from_precompiled());
    // Naming other code: compiled at load.
    let other = statement::composition_with_code(
        "greeter",
        &component_digest,
        &plan_digest,
        Some(&Digest::of(b"other code")),
    );
    let c = with(&other)
        .builder()
        .require_signature([release])
        .load()
        .unwrap();
    assert!(!c.from_precompiled());
}
