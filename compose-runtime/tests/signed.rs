//! An embedded composition checks its embedded bundles at load against keys the application
//! gives (`Builder::require_signature`): refused, before anything is compiled or instantiated,
//! unless one of those keys signed a statement naming this component and plan.

use compose_model::{Code, Digest, plan};
use compose_runtime::Embedded;
use compose_runtime::trust::{PublicKey, SigningKey, keys, sign, statement};

const GREET: &str = "package example:greet;\ninterface greeter { greet: func(name: string) -> string; }\nworld provider { export greeter; }\n";

fn leak(b: Vec<u8>) -> &'static [u8] {
    Box::leak(b.into_boxed_slice())
}

fn text(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The greeter provider embedded with a plan around it, and the plan.
fn greeter() -> (plan::Plan, Embedded) {
    let component = leak(compose_wit::testing::component_from_wit(
        &[("greet.wit", GREET)],
        "provider",
    ));
    let p = plan::from_toml("name = \"greeter\"\n[components.greeter]\npath = \"greeter.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"greeter\"\n").unwrap();
    let cbor = leak(p.to_cbor());
    let embedded = Embedded::new(
        "greeter",
        cbor,
        text(Digest::of(cbor).to_string()),
        component,
        text(Digest::of(component).to_string()),
    );
    (p, embedded)
}

/// `embedded` carrying `bundles`.
fn with(embedded: Embedded, bundles: Vec<String>) -> Embedded {
    let b: Vec<&'static str> = bundles.into_iter().map(text).collect();
    embedded.with_bundles(Box::leak(b.into_boxed_slice()))
}

/// A key pair in `dir` named `name`.
fn key(dir: &std::path::Path, name: &str) -> (PublicKey, SigningKey) {
    let public = keys::generate(&dir.join(name)).unwrap().key;
    (public, SigningKey::read(&dir.join(name)).unwrap())
}

#[test]
fn embedded_bundles_are_checked_against_the_applications_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (release, signer) = key(dir.path(), "release");
    let (other, outsider) = key(dir.path(), "other");
    let (_, embedded) = greeter();
    let (component_digest, plan_digest) =
        (Digest::of(embedded.component), Digest::of(embedded.plan));
    let refused = |e: Embedded, keys: Vec<PublicKey>| {
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
    let by_outsider = sign::sign_statement(&composition, &outsider).unwrap();
    assert_eq!(
        refused(with(embedded, vec![by_outsider]), vec![release.clone()]),
        Some(Code::TrustUnknownSigner)
    );
    let bytes_only = sign::sign_artifact(embedded.component, &signer).unwrap();
    assert_eq!(
        refused(with(embedded, vec![bytes_only]), vec![release.clone()]),
        Some(Code::TrustPlanMismatch)
    );
    let other_plan =
        statement::composition("greeter", &component_digest, &Digest::of(b"another plan"));
    let for_other_plan = sign::sign_statement(&other_plan, &signer).unwrap();
    assert_eq!(
        refused(with(embedded, vec![for_other_plan]), vec![release.clone()]),
        Some(Code::TrustPlanMismatch)
    );
    // Asked with no key at all: refused, never run unchecked.
    assert_eq!(
        refused(with(embedded, vec![good.clone()]), vec![]),
        Some(Code::TrustKey)
    );
    // The right key: loads, and so does any one of several.
    let signed = with(embedded, vec![good]);
    signed
        .builder()
        .require_signature([release.clone()])
        .load()
        .unwrap();
    signed
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
    let (release, signer) = key(dir.path(), "release");
    let (p, embedded) = greeter();
    let code = compose_build::precompile::precompile(embedded.component, &p.policy, None).unwrap();
    let code_bytes = leak(code.bytes);
    let (component_digest, plan_digest, code_digest) = (
        Digest::of(embedded.component),
        Digest::of(embedded.plan),
        Digest::of(code_bytes),
    );
    let embedded = embedded.with_precompiled(
        code_bytes,
        text(code_digest.to_string()),
        text(code.compatibility.to_string()),
    );
    let precompiled_under = |st: &statement::Statement| {
        let b = sign::sign_statement(st, &signer).unwrap();
        with(embedded, vec![b])
            .builder()
            .require_signature([release.clone()])
            .load()
            .unwrap()
            .from_precompiled()
    };
    // Not required: the precompiled code is used.
    assert!(embedded.builder().load().unwrap().from_precompiled());
    // Required, the statement naming the component and plan only: compiled at load.
    let bare = statement::composition("greeter", &component_digest, &plan_digest);
    assert!(!precompiled_under(&bare));
    // Naming the code too: used; naming other code: compiled at load.
    let code_named = |d: &Digest| {
        statement::composition_with_code("greeter", &component_digest, &plan_digest, Some(d))
    };
    assert!(precompiled_under(&code_named(&code_digest)));
    assert!(!precompiled_under(&code_named(&Digest::of(b"other code"))));
}
