//! Provenance: `emit build --provenance` writes the same SLSA statement on every build of the
//! same plan and inputs, with no path of the machine in it; signed, `attest verify` accepts it
//! for its component only, by the right key, and with `--plan` only for that plan and inputs.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

mod common;

use common::composectl_in as composectl;
use common::sigstore_js;

const PLAN: &str = r#"schema = 1
[components.greeter]
path = "greeter.wasm"
exports = ["example:greet/greeter"]
[components.app]
path = "app.wasm"
exports = ["wasi:cli/run"]
imports = { "example:greet/greeter" = "greeter" }
capabilities = { stdout = "required", stderr = "required", args = "required" }
[exports]
"wasi:cli/run" = "app"
[grants]
stdout = true
stderr = true
args = true
"#;

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A folder with the plan and its two guests.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["app", "greeter"] {
        std::fs::copy(common::guest(name), dir.path().join(format!("{name}.wasm"))).unwrap();
    }
    std::fs::write(dir.path().join("compose.toml"), PLAN).unwrap();
    dir
}

/// The code `attest verify … --json` refused with (exit 1).
fn refusal(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["attest", "verify"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = composectl(dir, &all);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["verified"], false);
    report["code"].as_str().unwrap().to_owned()
}

#[test]
fn the_statement_is_reproducible_and_names_the_build_without_machine_paths() {
    let (a, b) = (project(), project());
    for dir in [&a, &b] {
        let emit = [
            "emit",
            "build",
            "compose.toml",
            "-o",
            "out/hello.wasm",
            "--provenance",
            "out/hello.provenance.json",
            "--no-cache",
        ];
        ok(&composectl(dir.path(), &emit));
    }
    let read =
        |d: &tempfile::TempDir| std::fs::read(d.path().join("out/hello.provenance.json")).unwrap();
    assert_eq!(read(&a), read(&b), "two checkouts, the same statement");
    let text = String::from_utf8(read(&a)).unwrap();
    for dir in [&a, &b] {
        let path = dir.path().display().to_string();
        assert!(
            !text.contains(&path),
            "a machine path in the statement: {text}"
        );
    }
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["predicateType"], "https://slsa.dev/provenance/v1");
    let component = std::fs::read(a.path().join("out/hello.wasm")).unwrap();
    let digest = compose_model_digest(&component);
    assert_eq!(s["subject"][0]["name"], "hello.wasm");
    assert_eq!(s["subject"][0]["digest"]["sha256"], digest);
    let definition = &s["predicate"]["buildDefinition"];
    assert_eq!(
        definition["externalParameters"]["plan"]["name"],
        "compose.toml"
    );
    let deps = definition["resolvedDependencies"].as_array().unwrap();
    let greeter = deps
        .iter()
        .find(|d| d["name"] == "components.greeter")
        .unwrap();
    assert_eq!(greeter["annotations"]["source"]["path"], "greeter.wasm");
    let app = deps.iter().find(|d| d["name"] == "components.app").unwrap();
    let id = &app["annotations"]["imports"]["example:greet/greeter@1.0.0"];
    assert!(id.as_str().unwrap().starts_with("sha256:"), "{app}");
    assert!(s["predicate"]["runDetails"]["builder"]["version"]["wasm-compose"].is_string());
    assert!(s["predicate"]["runDetails"].get("metadata").is_none());
    // Canonical JSON: keys sorted, no spaces.
    assert!(text.starts_with("{\"_type\":"), "{text}");
    // A time only when asked for.
    ok(&composectl(
        a.path(),
        &[
            "emit",
            "build",
            "compose.toml",
            "-o",
            "timed.wasm",
            "--provenance",
            "timed.json",
            "--provenance-time",
        ],
    ));
    let timed: Value =
        serde_json::from_slice(&std::fs::read(a.path().join("timed.json")).unwrap()).unwrap();
    assert!(
        timed["predicate"]["runDetails"]["metadata"]["startedOn"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

fn compose_model_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn signed_provenance_verifies_for_its_component_key_plan_and_inputs_only() {
    let dir = project();
    let d = dir.path();
    ok(&composectl(d, &["trust", "keygen", "-o", "release.key"]));
    ok(&composectl(d, &["trust", "keygen", "-o", "other.key"]));
    ok(&composectl(
        d,
        &[
            "emit",
            "build",
            "compose.toml",
            "-o",
            "hello.wasm",
            "--sign-key",
            "release.key",
            "--provenance",
            "hello.provenance.json",
        ],
    ));
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "attest",
            "verify",
            "hello.wasm",
            "--provenance",
            "hello.provenance.json",
            "--key",
            "release.key.pub",
        ];
        args.extend_from_slice(extra);
        composectl(d, &args)
    };
    ok(&verify(&[]));
    // Sigstore's own tooling reads the bundle: sigstore-js checks its DSSE signature.
    let js = |bundle: &str, key: &str| sigstore_js(d, bundle, "hello.wasm", key);
    js("hello.provenance.json", "release.key.pub").unwrap();
    assert!(js("hello.provenance.json", "other.key.pub").is_err());
    let o = verify(&["--plan", "compose.toml", "--json"]);
    ok(&o);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["plan_checked"], true);
    assert!(report["builder"].as_str().unwrap().contains("composectl"));

    let base = [
        "--provenance",
        "hello.provenance.json",
        "--key",
        "release.key.pub",
    ];
    // Another component: the statement's subject is not it.
    std::fs::copy(d.join("greeter.wasm"), d.join("not-hello.wasm")).unwrap();
    let mut args = vec!["not-hello.wasm"];
    args.extend_from_slice(&base);
    assert_eq!(refusal(d, &args), "E0704");
    // Another key.
    assert_eq!(
        refusal(
            d,
            &[
                "hello.wasm",
                "--provenance",
                "hello.provenance.json",
                "--key",
                "other.key.pub"
            ]
        ),
        "E0702"
    );
    // A statement changed after signing: its signature no longer verifies.
    let bundle = std::fs::read_to_string(d.join("hello.provenance.json")).unwrap();
    let mut b: Value = serde_json::from_str(&bundle).unwrap();
    let payload = b["dsseEnvelope"]["payload"].as_str().unwrap().to_owned();
    let flipped = if payload.starts_with('e') { "f" } else { "e" };
    b["dsseEnvelope"]["payload"] = Value::String(format!("{flipped}{}", &payload[1..]));
    std::fs::write(d.join("tampered.json"), b.to_string()).unwrap();
    assert!(js("tampered.json", "release.key.pub").is_err());
    let code = refusal(
        d,
        &[
            "hello.wasm",
            "--provenance",
            "tampered.json",
            "--key",
            "release.key.pub",
        ],
    );
    assert!(code == "E0703" || code == "E0705", "{code}");
    // The composition's own bundle is signed, but is not provenance.
    assert_eq!(
        refusal(
            d,
            &[
                "hello.wasm",
                "--provenance",
                "hello.wasm.sigstore.json",
                "--key",
                "release.key.pub"
            ]
        ),
        "E0705"
    );
    // Another plan (the same components, named).
    std::fs::write(
        d.join("fewer.toml"),
        PLAN.replace("schema = 1\n", "schema = 1\nname = \"other\"\n"),
    )
    .unwrap();
    let mut args = vec!["hello.wasm"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&["--plan", "fewer.toml"]);
    assert_eq!(refusal(d, &args), "E0710");
    // A plan that does not emit here (an input is missing): nothing to compare with.
    std::fs::write(
        d.join("broken.toml"),
        PLAN.replace("\"app.wasm\"", "\"missing.wasm\""),
    )
    .unwrap();
    let mut args = vec!["hello.wasm"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&["--plan", "broken.toml"]);
    assert_eq!(refusal(d, &args), "E0714");
    // The same plan, but an input has changed since (a custom section appended).
    let mut greeter = std::fs::read(d.join("greeter.wasm")).unwrap();
    greeter.extend_from_slice(&[0x00, 0x05, 0x04, b'n', b'o', b'p', b'e']);
    std::fs::write(d.join("greeter.wasm"), greeter).unwrap();
    let mut args = vec!["hello.wasm"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&["--plan", "compose.toml"]);
    assert_eq!(refusal(d, &args), "E0714");
}
