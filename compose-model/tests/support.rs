//! Plans may only promise what the host enforces: every field this release's hosts do not
//! implement is found by `plan::unsupported` (E0214) with its plan path, while `plan validate`
//! (reading and checking) still accepts the plan. And the standard streams are capabilities
//! of their own.

use compose_model::Code;
use compose_model::plan::{self, Capability, Need, Plan};

const BASE: &str = r#"
[components.app]
path = "app.wasm"
exports = ["wasi:cli/run"]
capabilities = { stdout = "required" }
[exports]
"wasi:cli/run" = "app"
[grants]
stdout = true
"#;

fn read(text: &str) -> Plan {
    plan::from_toml(text).unwrap_or_else(|d| panic!("{}", plan::render("t", Some(text), &d)))
}

/// The plan paths `unsupported` refuses, each with E0214.
fn refused(text: &str) -> Vec<String> {
    plan::unsupported(&read(text))
        .into_iter()
        .map(|d| {
            assert_eq!(d.code, Code::PlanNotImplemented, "{d}");
            d.path
        })
        .collect()
}

#[test]
fn a_plan_the_host_can_keep_is_not_refused() {
    assert_eq!(refused(BASE), Vec::<String>::new());
    // `require-signature = false` with no signers promises nothing.
    let off = BASE.replace(
        "[exports]",
        "[components.app.trust]\nrequire-signature = false\n[exports]",
    );
    assert_eq!(refused(&off), Vec::<String>::new());
    // Determinism with clocks and random granted is kept: the host fixes them.
    let det = BASE.replace(
        "capabilities = { stdout = \"required\" }",
        "capabilities = { stdout = \"required\", clocks = \"optional\", random = \"optional\" }",
    ) + "clocks = true\nrandom = true\n[policy]\ndeterminism = \"required\"\n";
    assert_eq!(refused(&det), Vec::<String>::new());
}

/// Key, Sigstore and PKCS#11 signers are enforced now; what is still refused is signers that
/// nothing requires, and a signature on a source this host cannot fetch.
#[test]
fn signature_requirements_are_refused_only_where_they_cannot_be_checked() {
    let key = "{ key = \"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\" }";
    let with_trust = |trust: &str| {
        BASE.replace(
            "[exports]",
            &format!("[components.app.trust]\n{trust}\n[exports]"),
        )
    };
    let keyed = with_trust(&format!("require-signature = true\nsigners = [{key}]"));
    assert_eq!(refused(&keyed), Vec::<String>::new());
    let keyless = with_trust(
        "require-signature = true\nsigners = [{ sigstore = \"a@example.com\", issuer = \"https://issuer.example\" }]",
    );
    assert_eq!(refused(&keyless), Vec::<String>::new());
    let token = with_trust(&format!(
        "require-signature = true\nsigners = [{key}, {{ pkcs11 = \"release\" }}]"
    ));
    assert_eq!(refused(&token), Vec::<String>::new());
    let signers_only = with_trust(&format!("signers = [{key}]"));
    assert_eq!(refused(&signers_only), ["components.app.trust.signers"]);
    let oci = keyed.replace(
        "path = \"app.wasm\"",
        "oci = \"oci://127.0.0.1:5000/app:1\"",
    );
    assert_eq!(refused(&oci), ["components.app.trust.require-signature"]);
}

/// A threshold is from 1 to the number of signers, and a `crate` source cannot require a
/// signature: these are plan errors, found by `plan validate`.
#[test]
fn thresholds_and_crate_sources_are_checked() {
    let key = |k: &str| format!("{{ key = \"{k}.pub\" }}");
    let with_trust = |trust: &str| {
        BASE.replace(
            "[exports]",
            &format!("[components.app.trust]\n{trust}\n[exports]"),
        )
    };
    let codes = |text: &str| -> Vec<(Code, String)> {
        plan::from_toml(text)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.code, d.path))
            .collect()
    };
    let two = with_trust(&format!(
        "require-signature = true\nthreshold = 2\nsigners = [{}, {}]",
        key("a"),
        key("b")
    ));
    assert_eq!(codes(&two), vec![]);
    assert_eq!(
        read(&two).components["app"]
            .trust
            .as_ref()
            .unwrap()
            .threshold,
        Some(2)
    );
    for n in [0, 3] {
        let bad = two.replace("threshold = 2", &format!("threshold = {n}"));
        assert_eq!(
            codes(&bad),
            vec![(
                Code::PlanLimitOutOfRange,
                "components.app.trust.threshold".into()
            )]
        );
    }
    let on_crate = two.replace("path = \"app.wasm\"", "crate = \"app\"");
    assert_eq!(
        codes(&on_crate),
        vec![(Code::PlanSignatureOnCrate, "components.app.trust".into())]
    );
}

#[test]
fn observability_and_tenancy_are_refused() {
    // An audit log file is implemented (compose-runtime's `audit` feature): kept.
    let log = format!("{BASE}[observability]\naudit = \"file:audit.log\"\naudit-required = true\n");
    assert_eq!(refused(&log), Vec::<String>::new());
    for (extra, path) in [
        ("[observability]\nmetrics = true\n", "observability.metrics"),
        (
            "[observability]\naudit = \"stderr\"\n",
            "observability.audit",
        ),
        ("[observability]\nattest = true\n", "observability.attest"),
        ("[policy]\ntenant = \"acme\"\n", "policy.tenant"),
    ] {
        assert_eq!(refused(&format!("{BASE}{extra}")), [path], "{extra}");
    }
}

#[test]
fn unimplemented_capabilities_are_refused_when_granted_or_bound() {
    // `attest` and `audit` are implemented (`std:attest`, `std:audit`, compose-runtime's
    // features): granted, they are kept.
    for cap in ["attest", "audit"] {
        let granted = BASE.replace(
            "capabilities = { stdout = \"required\" }",
            &format!("capabilities = {{ stdout = \"required\", {cap} = \"required\" }}"),
        ) + &format!("{cap} = true\n");
        assert_eq!(refused(&granted), Vec::<String>::new(), "{cap}");
    }
    // `metrics` is not: granted, requested optionally, or bound.
    {
        let cap = "metrics";
        let granted = BASE.replace(
            "capabilities = { stdout = \"required\" }",
            &format!("capabilities = {{ stdout = \"required\", {cap} = \"required\" }}"),
        ) + &format!("{cap} = true\n");
        assert_eq!(
            refused(&granted),
            [format!("components.app.capabilities.{cap}")],
            "{cap}"
        );
        // Requested optionally and not granted: nothing is promised, nothing refused.
        let optional = BASE.replace(
            "capabilities = { stdout = \"required\" }",
            &format!("capabilities = {{ stdout = \"required\", {cap} = \"optional\" }}"),
        );
        assert_eq!(refused(&optional), Vec::<String>::new(), "{cap}");
        // An import taken from the host's unimplemented interface.
        let bound = optional.replace(
            "[exports]",
            &format!(
                "[components.app.imports]\n\"std:{cap}/x\" = {{ host = \"{cap}\" }}\n[exports]"
            ),
        );
        assert_eq!(
            refused(&bound),
            [format!("components.app.imports.\"std:{cap}/x\"")],
            "{cap}"
        );
    }
}

#[test]
fn determinism_with_outside_inputs_is_refused() {
    let cases = [
        ("stdin = \"required\"", "stdin = true", "grants.stdin"),
        ("stdio = \"required\"", "stdio = true", "grants.stdin"),
        ("env = [\"HOME\"]", "env = [\"HOME\"]", "grants.env"),
        (
            "dirs = [\"/data\"]",
            "dirs = [{ host = \".\", guest = \"/data\" }]",
            "grants.dirs",
        ),
        (
            "network = [\"127.0.0.1:1\"]",
            "network = [\"127.0.0.1:1\"]",
            "grants.network",
        ),
        (
            "http = [\"127.0.0.1:1\"]",
            "http = [\"127.0.0.1:1\"]",
            "grants.http",
        ),
        // Evidence carries the host's time and a random instance id.
        ("attest = \"required\"", "attest = true", "grants.attest"),
        ("audit = \"required\"", "audit = true", "grants.audit"),
    ];
    for (request, grant, path) in cases {
        let text = format!(
            "[components.app]\npath = \"app.wasm\"\nexports = [\"wasi:cli/run\"]\ncapabilities = {{ {request} }}\n[exports]\n\"wasi:cli/run\" = \"app\"\n[grants]\n{grant}\n[policy]\ndeterminism = \"required\"\n"
        );
        assert_eq!(refused(&text), [path], "{request}");
        // Without the requirement the same plan is kept.
        let allowed = text.replace("determinism = \"required\"", "determinism = \"allowed\"");
        assert_eq!(refused(&allowed), Vec::<String>::new(), "{request}");
    }
}

#[test]
fn every_refusal_is_reported_at_once() {
    let text =
        format!("{BASE}[observability]\nmetrics = true\nattest = true\n[policy]\ntenant = \"t\"\n");
    assert_eq!(refused(&text).len(), 3);
}

#[test]
fn streams_are_capabilities_of_their_own() {
    let p = read(BASE);
    let caps = &p.components["app"].capabilities;
    assert_eq!(caps.flag_need(Capability::Stdout), Some(Need::Required));
    assert_eq!(caps.flag_need(Capability::Stdin), None);
    assert!(p.grants.grants(Capability::Stdout));
    assert!(!p.grants.grants(Capability::Stdin));
    // `stdio` means all three, in requests and in grants.
    let all = read(&BASE.replace("stdout", "stdio"));
    let caps = &all.components["app"].capabilities;
    for s in Capability::STREAMS {
        assert_eq!(caps.flag_need(*s), Some(Need::Required), "{s:?}");
        assert!(all.grants.grants(*s), "{s:?}");
    }
}

#[test]
fn stdio_keeps_its_normal_form_and_digest() {
    // A plan written with `stdio` before the streams were split is stored exactly as before:
    // no stream keys are added, so its canonical CBOR (and digest) is unchanged.
    let p = read(&BASE.replace("stdout", "stdio"));
    let json = p.to_json();
    assert_eq!(
        json["components"]["app"]["capabilities"],
        serde_json::json!({ "stdio": "required" })
    );
    assert_eq!(json["grants"], serde_json::json!({ "stdio": true }));
    assert_eq!(plan::from_cbor(&p.to_cbor()).unwrap(), p);
}

#[test]
fn streams_are_checked_like_other_capabilities() {
    let codes = |text: &str| -> Vec<Code> {
        plan::from_toml(text)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|d| d.code)
            .collect()
    };
    // Required stdin, granted stdout only: not granted.
    let text = BASE.replace(
        "capabilities = { stdout = \"required\" }",
        "capabilities = { stdout = \"required\", stdin = \"required\" }",
    );
    assert_eq!(codes(&text), [Code::PlanCapabilityNotGranted]);
    // Required `stdio`, granted stdout only: not granted, reported once.
    let text = BASE.replacen("stdout = \"required\"", "stdio = \"required\"", 1);
    assert_eq!(codes(&text), [Code::PlanCapabilityNotGranted]);
    // `stdio` granted, only stdout requested: the grant is used.
    let text = BASE.replace("stdout = true", "stdio = true");
    assert_eq!(codes(&text), Vec::<Code>::new());
    // stderr granted, nobody asks for it.
    assert_eq!(
        codes(&format!("{BASE}stderr = true\n")),
        [Code::PlanUnusedGrant]
    );
    // `stdio` beside one of its streams says the same thing twice.
    let text = BASE
        .replace(
            "capabilities = { stdout = \"required\" }",
            "capabilities = { stdio = \"required\", stdout = \"optional\" }",
        )
        .replace("stdout = true", "stdio = true");
    assert_eq!(codes(&text), [Code::PlanConflictingFields]);
    assert_eq!(
        codes(&format!("{BASE}stdio = true\n")),
        [Code::PlanConflictingFields]
    );
}

#[test]
fn audit_required_needs_an_audit_log() {
    let plan = format!("{BASE}[observability]\naudit-required = true\n");
    let errors = compose_model::plan::from_toml(&plan).expect_err("invalid");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, Code::PlanBadValue);
    assert_eq!(errors[0].path, "observability.audit-required");
}
