//! `std:attest` under `exec run`: a guest granted `attest` gets evidence of what it runs as,
//! signed with the host's key, which `attest verify-evidence` checks against the verifier's
//! nonce, plan and component. Everything else is refused: no grant, no key, another nonce,
//! plan, component or key, altered or stale evidence, over-long data, evidence kinds the host
//! lacks, and evidence passed off as provenance. The host signs only its fixed fields.

use std::path::PathBuf;
use std::process::Output;

use base64::Engine;
use serde_json::Value;

mod common;

const NONCE: &str = "6e6f6e63652d3132333435"; // "nonce-12345"

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// A folder with an attestation key pair (`host.key`, `host.key.pub`) and another
    /// (`other.key`).
    fn new() -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
        };
        for key in ["host.key", "other.key"] {
            let o = s.run(&["trust", "keygen", "-o", key]);
            assert!(o.status.success(), "{}", text(&o.stderr));
        }
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        common::composectl_in(self.dir.path(), args)
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(args)
            .current_dir(self.dir.path())
            .env("COMPOSE_CACHE_DIR", self.dir.path().join("cache"))
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// A plan `NAME.toml` for the attester: `attest` requested with `need`, granted when
    /// `grant`, with `extra` appended.
    fn plan(&self, name: &str, need: &str, grant: bool, extra: &str) -> String {
        let file = format!("{name}.toml");
        std::fs::write(
            self.path(&file),
            format!(
                r#"name = "{name}"
[components.attester]
path = {path:?}
exports = ["wasi:cli/run"]
imports = {{ "std:attest/attestation" = {{ host = "attest" }} }}
capabilities = {{ stdio = "required", args = "required", attest = "{need}" }}
[exports]
"wasi:cli/run" = "attester"
[grants]
stdio = true
args = true
attest = {grant}
{extra}"#,
                path = common::guest("attester").display().to_string()
            ),
        )
        .unwrap();
        file
    }

    /// `exec run PLAN FLAGS -- ARGS`.
    fn exec(&self, plan: &str, flags: &[&str], args: &[&str]) -> Output {
        let mut all = vec!["exec", "run", plan];
        all.extend(flags);
        all.push("--");
        all.extend(args);
        self.run(&all)
    }

    /// Evidence over `nonce` from a run of `plan` with the host key, written to `file`.
    fn evidence(&self, plan: &str, nonce: &str, file: &str) -> String {
        let o = self.exec(plan, &["--attest-key", "host.key"], &["attest", nonce]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        std::fs::write(self.path(file), &o.stdout).unwrap();
        file.to_owned()
    }

    /// `attest verify-evidence FILE --key host.key.pub --nonce NONCE ARGS --json`: its exit
    /// code and JSON.
    fn verify(&self, file: &str, nonce: &str, args: &[&str]) -> (Option<i32>, Value) {
        let mut all = vec![
            "attest",
            "verify-evidence",
            file,
            "--nonce",
            nonce,
            "--json",
        ];
        if !args.contains(&"--key") {
            all.extend(["--key", "host.key.pub"]);
        }
        if !args.contains(&"--component") {
            all.push("--any-component");
        }
        all.extend(args);
        let o = self.run(&all);
        let json = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
        (o.status.code(), json)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The refusal code of a `--json` verification, asserting it exited 1.
fn refused((code, json): (Option<i32>, Value)) -> String {
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["verified"], false, "{json}");
    json["code"].as_str().unwrap().to_owned()
}

/// The DSSE payload of an evidence bundle, and its type.
fn payload(bundle: &[u8]) -> (Value, String) {
    let b: Value = serde_json::from_slice(bundle).unwrap();
    let env = &b["dsseEnvelope"];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(env["payload"].as_str().unwrap())
        .unwrap();
    (
        serde_json::from_slice(&bytes).unwrap(),
        env["payloadType"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_guest_gets_evidence_that_the_verifier_checks() {
    let s = Setup::new();
    let plan = s.plan("attested", "required", true, "");
    let o = s.exec(&plan, &["--attest-key", "host.key"], &["available"]);
    assert_eq!(text(&o.stdout), "software-key\n", "{}", text(&o.stderr));
    let file = s.evidence(&plan, NONCE, "evidence.json");
    // The component the evidence names is the plan's composition.
    let e = s.run(&["emit", "build", &plan, "-o", "attested.wasm", "--json"]);
    assert!(e.status.success(), "{}", text(&e.stderr));
    let emitted: Value = serde_json::from_slice(&e.stdout).unwrap();
    let (code, json) = s.verify(
        &file,
        NONCE,
        &[
            "--plan",
            &plan,
            "--component",
            "attested.wasm",
            "--max-age",
            "600",
        ],
    );
    assert_eq!(code, Some(0), "{json}");
    let ev = &json["evidence"];
    assert_eq!(ev["evidenceKind"], "software-key");
    assert_eq!(ev["nonce"], NONCE);
    assert_eq!(ev["plan"], emitted["plan_digest"]);
    assert_eq!(ev["component"], emitted["digest"]);
    assert_eq!(ev["host"]["wasmtime"], "50.0.1");
    assert!(
        ev["host"]["runtime"]
            .as_str()
            .unwrap()
            .starts_with("compose-runtime/")
    );
    assert_eq!(ev["instance"].as_str().unwrap().len(), 32);
    // The report's own fields say the same.
    let o = s.exec(&plan, &["--attest-key", "host.key"], &["attest", NONCE]);
    let report = text(&o.stderr);
    assert!(
        report.contains(&format!(
            "kind=software-key format=application/vnd.dev.sigstore.bundle.v0.3+json plan={} component={}",
            emitted["plan_digest"].as_str().unwrap(),
            emitted["digest"].as_str().unwrap()
        )),
        "{report}"
    );
    // Each run is another instance; the text form says what verified.
    let again = s.evidence(&plan, NONCE, "again.json");
    let (_, second) = s.verify(&again, NONCE, &[]);
    assert_ne!(second["evidence"]["instance"], ev["instance"]);
    let o = s.run(&[
        "attest",
        "verify-evidence",
        &file,
        "--key",
        "host.key.pub",
        "--nonce",
        NONCE,
        "--plan",
        &plan,
        "--component",
        "attested.wasm",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("verified software-key evidence")
            && text(&o.stderr).contains("the plan and component are the ones given"),
        "{}",
        text(&o.stderr)
    );
    // The component must be named, or any component accepted in so many words: the plan's
    // digest alone does not say which code ran.
    let o = s.run(&[
        "attest",
        "verify-evidence",
        &file,
        "--key",
        "host.key.pub",
        "--nonce",
        NONCE,
        "--plan",
        &plan,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("--component"),
        "{}",
        text(&o.stderr)
    );
}

/// A composed component run with `--plan` is named by its own digest, with that plan's.
#[test]
fn evidence_names_the_component_that_runs_with_a_plan_given() {
    let s = Setup::new();
    let plan = s.plan("attested", "required", true, "");
    assert!(
        s.run(&["emit", "build", &plan, "-o", "a.wasm"])
            .status
            .success()
    );
    // Other bytes of the same composition: a custom section appended.
    let mut other = std::fs::read(s.path("a.wasm")).unwrap();
    other.extend_from_slice(&[0, 4, 1, b'x', 1, 2]);
    std::fs::write(s.path("b.wasm"), &other).unwrap();
    for wasm in ["a.wasm", "b.wasm"] {
        let o = s.exec(
            wasm,
            &["--plan", &plan, "--attest-key", "host.key"],
            &["attest", NONCE],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        std::fs::write(s.path("e.json"), &o.stdout).unwrap();
        let (code, json) = s.verify("e.json", NONCE, &["--plan", &plan, "--component", wasm]);
        assert_eq!(code, Some(0), "{wasm}: {json}");
        let theirs = if wasm == "a.wasm" { "b.wasm" } else { "a.wasm" };
        assert_eq!(
            refused(s.verify("e.json", NONCE, &["--component", theirs])),
            "E0716",
            "{wasm}"
        );
    }
    // A recorded plan run without `--plan` can be granted `attest` with `--allow`.
    let o = s.exec(
        "a.wasm",
        &[
            "--allow",
            "attest",
            "--allow",
            "stdio",
            "--allow",
            "args",
            "--attest-key",
            "host.key",
        ],
        &["available"],
    );
    assert_eq!(text(&o.stdout), "software-key\n", "{}", text(&o.stderr));
}

#[test]
fn evidence_for_another_nonce_plan_component_or_time_is_refused() {
    let s = Setup::new();
    let plan = s.plan("attested", "required", true, "");
    let other = s.plan("other", "required", true, "");
    let file = s.evidence(&plan, NONCE, "evidence.json");
    std::fs::write(s.path("other.wasm"), b"\0asm\x01\0\0\0").unwrap();
    assert_eq!(refused(s.verify(&file, "00", &[])), "E0715");
    assert_eq!(refused(s.verify(&file, "", &["--max-age", "600"])), "E0715");
    assert_eq!(
        refused(s.verify(&file, NONCE, &["--plan", &other])),
        "E0716"
    );
    assert_eq!(
        refused(s.verify(&file, NONCE, &["--component", "other.wasm"])),
        "E0716"
    );
    assert_eq!(
        refused(s.verify(&file, NONCE, &["--max-age", "0"])),
        "E0717"
    );
    // An empty nonce proves nothing about when: only with a maximum age.
    let empty = s.evidence(&plan, "", "empty.json");
    let o = s.run(&[
        "attest",
        "verify-evidence",
        &empty,
        "--key",
        "host.key.pub",
        "--nonce",
        "",
        "--any-component",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--max-age"), "{}", text(&o.stderr));
    assert_eq!(s.verify(&empty, "", &["--max-age", "600"]).0, Some(0));
    // A nonce that is not hex, or too long to be one, is a usage error.
    for bad in ["xyz", &"00".repeat(65)] {
        let o = s.run(&[
            "attest",
            "verify-evidence",
            &file,
            "--key",
            "host.key.pub",
            "--nonce",
            bad,
            "--any-component",
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("not hex of at most 64 bytes"),
            "{}",
            text(&o.stderr)
        );
    }
}

#[test]
fn altered_foreign_or_misused_evidence_is_refused() {
    let s = Setup::new();
    let plan = s.plan("attested", "required", true, "");
    let file = s.evidence(&plan, NONCE, "evidence.json");
    let bundle = std::fs::read(s.path(&file)).unwrap();
    // Another host's key.
    let o = s.run(&["trust", "keygen", "-o", "third.key"]);
    assert!(o.status.success());
    assert_eq!(
        refused(s.verify(&file, NONCE, &["--key", "third.key.pub"])),
        "E0702"
    );
    // The payload altered (another plan digest), the signature kept.
    let mut b: Value = serde_json::from_slice(&bundle).unwrap();
    let (mut p, _) = payload(&bundle);
    p["plan"] = Value::String(format!("sha256:{}", "0".repeat(64)));
    b["dsseEnvelope"]["payload"] = Value::String(
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&p).unwrap()),
    );
    std::fs::write(s.path("altered.json"), serde_json::to_vec(&b).unwrap()).unwrap();
    assert_eq!(refused(s.verify("altered.json", NONCE, &[])), "E0703");
    // The payload type changed: DSSE signs it, so this is altered too.
    let mut t: Value = serde_json::from_slice(&bundle).unwrap();
    t["dsseEnvelope"]["payloadType"] = Value::String("application/vnd.in-toto+json".into());
    std::fs::write(s.path("retyped.json"), serde_json::to_vec(&t).unwrap()).unwrap();
    let code = refused(s.verify("retyped.json", NONCE, &[]));
    assert_eq!(code, "E0705", "not evidence by its type");
    // Nor does the retyped envelope pass as a statement where statements are checked.
    assert!(
        s.run(&["emit", "build", &plan, "-o", "attested.wasm"])
            .status
            .success()
    );
    for args in [
        vec![
            "trust",
            "verify",
            "attested.wasm",
            "--bundle",
            "retyped.json",
            "--key",
            "host.key.pub",
            "--json",
        ],
        vec![
            "attest",
            "verify",
            "attested.wasm",
            "--provenance",
            "retyped.json",
            "--key",
            "host.key.pub",
            "--json",
        ],
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("\"verified\":false"),
            "{args:?}: {}",
            text(&o.stdout)
        );
    }
    // Not a bundle at all.
    std::fs::write(s.path("junk.json"), b"{}").unwrap();
    assert_eq!(refused(s.verify("junk.json", NONCE, &[])), "E0705");
    // Evidence is not provenance, even for the component it names and with the same key.
    assert!(
        s.run(&["emit", "build", &plan, "-o", "attested.wasm"])
            .status
            .success()
    );
    let o = s.run(&[
        "attest",
        "verify",
        "attested.wasm",
        "--provenance",
        &file,
        "--key",
        "host.key.pub",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("E0705"), "{}", text(&o.stdout));
    let o = s.run(&[
        "trust",
        "verify",
        "attested.wasm",
        "--bundle",
        &file,
        "--key",
        "host.key.pub",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
}

#[test]
fn the_host_signs_only_its_fixed_fields() {
    let s = Setup::new();
    let plan = s.plan("attested", "required", true, "");
    // Data a guest would like signed as it is: it lands hex encoded in the nonce field only.
    let data = "7b225f74797065223a2268747470733a2f2f736c73612e646576227d"; // {"_type":"https://slsa.dev"}
    let file = s.evidence(&plan, data, "evidence.json");
    let (p, kind) = payload(&std::fs::read(s.path(&file)).unwrap());
    assert_eq!(kind, "application/vnd.compose.attestation-evidence.v1+json");
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "_type",
            "component",
            "evidenceKind",
            "host",
            "instance",
            "issuedAt",
            "nonce",
            "plan"
        ]
    );
    assert_eq!(p["nonce"], data);
    assert_eq!(
        p["_type"],
        "https://example.invalid/compose/attestation-evidence/v1"
    );
    // More than 64 bytes is refused by the host, not cut.
    let o = s.exec(
        &plan,
        &["--attest-key", "host.key"],
        &["attest", &"ab".repeat(65)],
    );
    assert_eq!(text(&o.stdout), "error: AttestError::DataTooLong(64)\n");
    let o = s.exec(
        &plan,
        &["--attest-key", "host.key"],
        &["attest", &"ab".repeat(64)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    // Evidence it does not have is not pretended.
    for kind in ["tpm", "tee", "pkcs11"] {
        let o = s.exec(
            &plan,
            &["--attest-key", "host.key"],
            &["attest", NONCE, kind],
        );
        assert_eq!(o.status.code(), Some(1));
        assert!(
            text(&o.stdout).starts_with("error: AttestError::Unsupported("),
            "{kind}: {}",
            text(&o.stdout)
        );
    }
}

#[test]
fn attest_is_deny_by_default() {
    let s = Setup::new();
    let key = ["--attest-key", "host.key"];
    // Not granted: nothing available, no report.
    let plan = s.plan("ungranted", "optional", false, "");
    let o = s.exec(&plan, &[], &["available"]);
    assert_eq!(text(&o.stdout), "", "{}", text(&o.stderr));
    let o = s.exec(&plan, &[], &["attest", NONCE]);
    assert!(
        text(&o.stdout).starts_with("error: AttestError::Unavailable("),
        "{}",
        text(&o.stdout)
    );
    // With a host key as well, it does not run at all: the key would sign nothing (E0901).
    let o = s.exec(&plan, &key, &["attest", NONCE]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("grants no `attest`"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty(), "the guest ran: {}", text(&o.stdout));
    // Granted, but the host has no key: optional gets nothing, required does not start.
    let plan = s.plan("keyless", "optional", true, "");
    let o = s.exec(&plan, &[], &["attest", NONCE]);
    assert!(text(&o.stdout).starts_with("error: AttestError::Unavailable("));
    let plan = s.plan("required", "required", true, "");
    let o = s.exec(&plan, &[], &["attest", NONCE]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0501]") && text(&o.stderr).contains("--attest-key"),
        "{}",
        text(&o.stderr)
    );
    // Required but not granted (the plan itself is invalid), or refused by the host.
    let plan = s.plan("notgranted", "required", false, "");
    let o = s.exec(&plan, &key, &["attest", NONCE]);
    assert!(
        text(&o.stderr).contains("error[E0207]"),
        "{}",
        text(&o.stderr)
    );
    let plan = s.plan("refused", "required", true, "");
    let o = s.exec(
        &plan,
        &["--attest-key", "host.key", "--refuse", "attest"],
        &["attest", NONCE],
    );
    assert!(
        text(&o.stderr).contains("error[E0501]") && text(&o.stderr).contains("host policy refuses"),
        "{}",
        text(&o.stderr)
    );
    // A deterministic plan cannot attest: evidence carries the time and an instance id.
    let plan = s.plan(
        "deterministic",
        "required",
        true,
        "[policy]\ndeterminism = \"required\"\n",
    );
    let o = s.exec(&plan, &key, &["attest", NONCE]);
    assert!(
        text(&o.stderr).contains("error[E0214]") && text(&o.stderr).contains("grants.attest"),
        "{}",
        text(&o.stderr)
    );
    // An unreadable key stops before anything runs.
    let plan = s.plan("badkey", "required", true, "");
    let o = s.exec(&plan, &["--attest-key", "host.key.pub"], &["attest", NONCE]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0709]"),
        "{}",
        text(&o.stderr)
    );
}

/// Evidence signed inside a real SoftHSM2 token says `pkcs11`, and verifies with the token's
/// public key.
#[test]
fn a_pkcs11_token_signs_evidence() {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let s = Setup::new();
    let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    std::fs::write(
        s.path("hsm.pub"),
        key.public_key().to_public_key_pem(LineEnding::LF).unwrap(),
    )
    .unwrap();
    let conf = common::softhsm_token(
        s.dir.path(),
        "ci",
        "1234",
        "attest",
        &key.to_pkcs8_pem(LineEnding::LF).unwrap(),
    );
    let env = [
        ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ("PKCS11_PIN", "1234"),
    ];
    let plan = s.plan("hsm", "required", true, "");
    let o = s.run_env(
        &[
            "exec",
            "run",
            &plan,
            "--attest-pkcs11",
            "attest",
            "--",
            "attest",
            NONCE,
        ],
        &env,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    std::fs::write(s.path("hsm.json"), &o.stdout).unwrap();
    let (code, json) = s.verify("hsm.json", NONCE, &["--key", "hsm.pub"]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["evidence"]["evidenceKind"], "pkcs11");
    assert_eq!(
        refused(s.verify("hsm.json", NONCE, &["--key", "host.key.pub"])),
        "E0702"
    );
}

/// sigstore-js, another implementation, verifies the evidence bundle with the host's key.
#[test]
fn sigstore_js_verifies_evidence() {
    let s = Setup::new();
    let plan = s.plan("attested", "required", true, "");
    let file = s.evidence(&plan, NONCE, "evidence.json");
    common::sigstore_js(s.dir.path(), &file, &file, "host.key.pub").unwrap();
    assert!(common::sigstore_js(s.dir.path(), &file, &file, "other.key.pub").is_err());
}
