//! Signatures through `composectl`, as a user types them: `trust keygen|sign|verify`, the
//! plan's `trust.require-signature` at `emit build` and `exec run`, and the host's
//! `--require-signature --trust-key` at exec. Every refusal has its code, writes nothing and
//! runs nothing.

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;
use common::probe;

/// A folder with `probe.wasm`, a private blob store, and keys `a`, `b` made by `trust keygen`.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::copy(probe(), s.path("probe.wasm")).unwrap();
        for k in ["a", "b"] {
            s.ok(&["trust", "keygen", "-o", k]);
        }
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `composectl ARGS` in the folder, with its own blob store.
    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(args)
            .current_dir(self.dir.path())
            .env("COMPOSE_CACHE_DIR", self.path("cache"))
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// Runs and expects exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    }

    /// Runs and expects exit 1 with `code` on stderr, and no guest output.
    fn refused(&self, args: &[&str], code: &str) -> String {
        let o = self.run(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("error[{code}]")),
            "{args:?}: want {code}: {err}"
        );
        assert_eq!(text(&o.stdout), "", "{args:?}: the guest ran");
        err
    }

    /// A plan around `probe.wasm` granting stdout and args, with `trust` (TOML, may be empty).
    fn plan(&self, name: &str, trust: &str) -> String {
        let file = format!("{name}.toml");
        std::fs::write(
            self.path(&file),
            format!(
                "[components.probe]\npath = \"probe.wasm\"\nexports = [\"wasi:cli/run\"]\ncapabilities = {{ args = \"required\", stdout = \"required\" }}\n{trust}\n[exports]\n\"wasi:cli/run\" = \"probe\"\n[grants]\nargs = true\nstdout = true\n"
            ),
        )
        .unwrap();
        file
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PROBE_OUT: &str = "allowed: read 0 bytes from stdin\n";

#[test]
fn keygen_sign_and_verify_from_the_command_line() {
    let s = Setup::new();
    let made: serde_json::Value =
        serde_json::from_str(&s.ok(&["trust", "keygen", "-o", "c", "--json"])).unwrap();
    assert_eq!(made["algorithm"], "ecdsa-p256-sha256");
    assert_eq!(made["public"], "c.pub");
    // Never overwritten: exit 1 with its code.
    s.refused(&["trust", "keygen", "-o", "c"], "E0709");
    let signed: serde_json::Value =
        serde_json::from_str(&s.ok(&["trust", "sign", "probe.wasm", "--key", "a", "--json"]))
            .unwrap();
    assert_eq!(signed["bundle"], "probe.wasm.sigstore.json");
    assert_eq!(signed["content"], "messageSignature");
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["trust", "verify", "probe.wasm", "--key", "a.pub", "--json"]))
            .unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["digest"], signed["digest"]);
    // Refused with a code (exit 1), in JSON too.
    let o = s.run(&["trust", "verify", "probe.wasm", "--key", "b.pub", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["verified"].as_bool(), v["code"].as_str()),
        (Some(false), Some("E0702"))
    );
    std::fs::write(s.path("other.wasm"), b"other bytes").unwrap();
    s.refused(
        &[
            "trust",
            "verify",
            "other.wasm",
            "--key",
            "a.pub",
            "--bundle",
            "probe.wasm.sigstore.json",
        ],
        "E0704",
    );
    // A private key readable by others does not sign.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path("c"), std::fs::Permissions::from_mode(0o644)).unwrap();
    s.refused(
        &["trust", "sign", "probe.wasm", "--key", "c", "-o", "x.json"],
        "E0709",
    );
    assert!(!s.path("x.json").exists());
    // Usage and I/O errors exit 2: no key, both keys, a missing bundle, a missing artifact.
    for args in [
        &["trust", "verify", "probe.wasm"][..],
        &[
            "trust",
            "sign",
            "probe.wasm",
            "--key",
            "a",
            "--pkcs11",
            "release",
        ],
        &["trust", "sign", "probe.wasm"],
        &[
            "trust",
            "verify",
            "probe.wasm",
            "--key",
            "a.pub",
            "--bundle",
            "missing.json",
        ],
        &["trust", "verify", "missing.wasm", "--key", "a.pub"],
        &["trust", "verify", "probe.wasm", "--key", "missing.pub"],
        &[
            "trust",
            "verify",
            "probe.wasm",
            "--key",
            "a.pub",
            "--threshold",
            "0",
        ],
    ] {
        assert_eq!(s.run(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn plans_that_require_signatures_are_enforced_at_emit_and_exec() {
    let s = Setup::new();
    let plan = s.plan(
        "signed",
        "[components.probe.trust]\nrequire-signature = true\nsigners = [{ key = \"a.pub\" }]",
    );
    let emit = |out: &str| {
        vec!["emit", "build", plan.as_str(), "-o", out]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let emit_refused = |code: &str| {
        let args = emit("out.wasm");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = s.refused(&args, code);
        assert!(!s.path("out.wasm").exists(), "written despite {code}");
        assert!(err.contains("components.probe.trust"), "{err}");
        // exec of the plan is refused the same way, and nothing runs.
        s.refused(&["exec", "run", &plan, "--", "stdin"], code);
        err
    };
    // Unsigned: says where it looked.
    let err = emit_refused("E0701");
    assert!(err.contains("probe.wasm.sigstore.json"), "{err}");
    // Signed by a key the plan does not list.
    s.ok(&["trust", "sign", "probe.wasm", "--key", "b"]);
    emit_refused("E0702");
    // A bundle for other bytes.
    std::fs::write(s.path("other.wasm"), b"\0asm other").unwrap();
    s.ok(&[
        "trust",
        "sign",
        "other.wasm",
        "--key",
        "a",
        "-o",
        "probe.wasm.sigstore.json",
    ]);
    emit_refused("E0704");
    // Not a bundle.
    std::fs::write(s.path("probe.wasm.sigstore.json"), b"{\"mediaType\": 3}").unwrap();
    emit_refused("E0705");
    // Signed by `a`: emits and runs.
    s.ok(&["trust", "sign", "probe.wasm", "--key", "a"]);
    s.ok(&emit("out.wasm")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(s.ok(&["exec", "run", &plan, "--", "stdin"]), PROBE_OUT);
    // The composed component under this plan: its inputs cannot be checked at exec, so it is
    // refused unless a trusted signer's statement names the plan.
    s.refused(
        &["exec", "run", "out.wasm", "--plan", &plan, "--", "stdin"],
        "E0701",
    );
    s.ok(&["trust", "sign", "out.wasm", "--key", "b", "--plan", &plan]);
    assert_eq!(
        s.ok(&[
            "exec",
            "run",
            "out.wasm",
            "--plan",
            &plan,
            "--require-signature",
            "--trust-key",
            "b.pub",
            "--",
            "stdin"
        ]),
        PROBE_OUT
    );
    // A cache hit checks again: without the bundle the cached result is not handed out.
    std::fs::remove_file(s.path("out.wasm")).unwrap();
    std::fs::remove_file(s.path("probe.wasm.sigstore.json")).unwrap();
    emit_refused("E0701");

    // Two of two: one bundle beside the file, one in the blob store under its digest.
    let two = s.plan(
        "two",
        "[components.probe.trust]\nrequire-signature = true\nthreshold = 2\nsigners = [{ key = \"a.pub\" }, { key = \"b.pub\" }]",
    );
    s.ok(&["trust", "sign", "probe.wasm", "--key", "a"]);
    s.refused(&["emit", "build", &two, "-o", "two.wasm"], "E0708");
    let digest = compose_model::Digest::of(&std::fs::read(s.path("probe.wasm")).unwrap());
    let store = s.path("cache").join("sigstore").join(digest.hex());
    std::fs::create_dir_all(&store).unwrap();
    s.ok(&[
        "trust",
        "sign",
        "probe.wasm",
        "--key",
        "b",
        "-o",
        store.join("b.sigstore.json").to_str().unwrap(),
    ]);
    s.ok(&["emit", "build", &two, "-o", "two.wasm"]);

    // A keyless signer, and a keyless bundle: refused without a trusted root (none is built in).
    let keyless = s.plan(
        "keyless",
        "[components.probe.trust]\nrequire-signature = true\nsigners = [{ sigstore = \"dev@example.com\", issuer = \"https://issuer.example\" }]",
    );
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("probe.wasm.sigstore.json")).unwrap())
            .unwrap();
    b["verificationMaterial"] =
        serde_json::json!({"certificate": {"rawBytes": "MIIB"}, "tlogEntries": []});
    std::fs::write(s.path("probe.wasm.sigstore.json"), b.to_string()).unwrap();
    s.refused(&["emit", "build", &keyless, "-o", "k.wasm"], "E0707");

    // A `crate` source cannot require a signature: a plan error.
    std::fs::write(
        s.path("crate.toml"),
        "[components.probe]\ncrate = \"probe\"\nexports = [\"wasi:cli/run\"]\n[components.probe.trust]\nrequire-signature = true\nsigners = [{ key = \"a.pub\" }]\n[exports]\n\"wasi:cli/run\" = \"probe\"\n",
    )
    .unwrap();
    let o = s.run(&["plan", "validate", "crate.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0215]"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_host_can_require_signed_compositions_whatever_the_plan_says() {
    let s = Setup::new();
    let plan = s.plan("plain", "");
    let other = s.plan("other", "[policy]\nmemory = 33554432");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "exec",
            "run",
            "probe.wasm",
            "--plan",
            &plan,
            "--require-signature",
            "--trust-key",
            "a.pub",
        ];
        args.extend_from_slice(extra);
        args.extend(["--", "stdin"]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let refused = |extra: &[&str], code: &str| {
        let args = run(extra);
        s.refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), code)
    };
    let ran = |extra: &[&str]| s.ok(&run(extra).iter().map(String::as_str).collect::<Vec<_>>());
    // Unsigned, then signed by another key; a named bundle that is not there.
    refused(&[], "E0701");
    let err = refused(&["--bundle", "nope.json"], "E0701");
    assert!(err.contains("nope.json"), "{err}");
    s.ok(&["trust", "sign", "probe.wasm", "--key", "b"]);
    refused(&[], "E0702");
    // Signed by `a`, but over its bytes only: the grants are not covered.
    s.ok(&["trust", "sign", "probe.wasm", "--key", "a"]);
    refused(&[], "E0710");
    // A composition statement naming another plan.
    s.ok(&[
        "trust",
        "sign",
        "probe.wasm",
        "--key",
        "a",
        "--plan",
        &other,
    ]);
    let err = refused(&[], "E0710");
    assert!(err.contains("they name sha256:"), "{err}");
    // Naming this plan: runs.
    s.ok(&[
        "trust",
        "sign",
        "probe.wasm",
        "--key",
        "a",
        "--plan",
        &plan,
        "-o",
        "mine.json",
    ]);
    assert_eq!(ran(&["--bundle", "mine.json"]), PROBE_OUT);

    // `emit build --sign-key`: the bundle beside the output and in the store; `exec` of the
    // plan itself finds it there by the composed component's digest.
    let o = s.ok(&[
        "emit",
        "build",
        &plan,
        "-o",
        "built/hello.wasm",
        "--sign-key",
        "a",
    ]);
    assert_eq!(o, "");
    assert!(s.path("built/hello.wasm.sigstore.json").exists());
    s.ok(&["trust", "verify", "built/hello.wasm", "--key", "a.pub"]);
    assert_eq!(
        s.ok(&[
            "exec",
            "run",
            &plan,
            "--require-signature",
            "--trust-key",
            "a.pub",
            "--",
            "stdin"
        ]),
        PROBE_OUT
    );
    s.refused(
        &[
            "exec",
            "run",
            &plan,
            "--require-signature",
            "--trust-key",
            "b.pub",
            "--",
            "stdin",
        ],
        "E0702",
    );
    // Usage: a trusted key without the requirement, and the requirement without a key.
    for args in [
        &["exec", "run", "probe.wasm", "--trust-key", "a.pub"][..],
        &["exec", "run", "probe.wasm", "--require-signature"],
        // A trusted root that nothing would use is refused, not ignored.
        &["exec", "run", "probe.wasm", "--trusted-root", "root.json"],
    ] {
        assert_eq!(s.run(args).status.code(), Some(2), "{args:?}");
    }
}

/// `trust sign --pkcs11` and `emit build --sign-pkcs11` sign inside a real SoftHSM2 token
/// holding a key pair imported with `softhsm2-util`, as an operator would.
#[test]
fn pkcs11_keys_sign_inside_a_real_softhsm2_token() {
    let s = Setup::new();
    // The pair is made with the key generator of an independent implementation (the p256 crate).
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
    std::fs::write(
        s.path("hsm.pub"),
        key.public_key().to_public_key_pem(LineEnding::LF).unwrap(),
    )
    .unwrap();
    let conf = common::softhsm_token(
        s.dir.path(),
        "ci",
        "1234",
        "release",
        &key.to_pkcs8_pem(LineEnding::LF).unwrap(),
    );
    let env = [
        ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ("PKCS11_PIN", "1234"),
    ];
    let o = s.run_env(
        &["trust", "sign", "probe.wasm", "--pkcs11", "release"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    s.ok(&["trust", "verify", "probe.wasm", "--key", "hsm.pub"]);
    let plan = s.plan("p", "");
    let o = s.run_env(
        &[
            "emit",
            "build",
            &plan,
            "-o",
            "hsm.wasm",
            "--sign-pkcs11",
            "pkcs11:token=ci;object=release",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    s.ok(&["trust", "verify", "hsm.wasm", "--key", "hsm.pub"]);
    // A plan accepting the token's key by label: its public half is read from the token.
    let by_label = s.plan(
        "token",
        "[components.probe.trust]\nrequire-signature = true\nsigners = [{ pkcs11 = \"release\" }]",
    );
    let o = s.run_env(&["emit", "build", &by_label, "-o", "t.wasm"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    s.ok(&["trust", "sign", "probe.wasm", "--key", "a"]);
    let o = s.run_env(&["emit", "build", &by_label, "-o", "t2.wasm"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0702]"),
        "{}",
        text(&o.stderr)
    );
    let o = s.run_env(
        &["emit", "build", &by_label, "-o", "t3.wasm"],
        &[("SOFTHSM2_CONF", "/nonexistent.conf")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0712]"),
        "{}",
        text(&o.stderr)
    );
    // A wrong PIN: refused with its code, and nothing is written.
    let bad = [
        ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ("PKCS11_PIN", "0000"),
    ];
    let o = s.run_env(
        &[
            "emit",
            "build",
            &plan,
            "-o",
            "bad.wasm",
            "--sign-pkcs11",
            "pkcs11:token=ci;object=release",
        ],
        &bad,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E0712]"),
        "{}",
        text(&o.stderr)
    );
    assert!(!s.path("bad.wasm").exists());
}

/// Sigstore's public-good `trusted_root.json`, as the sigstore-trust-root crate ships it.
fn public_good_root() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flatten()
        .map(|i| {
            i.path()
                .join("sigstore-trust-root-0.15.1/src/trusted_root.json")
        })
        .find(|p| p.is_file())
        .expect("sigstore-trust-root is unpacked")
}

#[test]
fn a_trusted_root_that_nothing_checks_with_is_refused_not_ignored() {
    let s = Setup::new();
    std::fs::copy(public_good_root(), s.path("root.json")).unwrap();
    let plan = s.plan("plain", "");
    // The plan requires no signature, and the host checks none.
    let err = s.refused(
        &[
            "emit",
            "build",
            &plan,
            "-o",
            "out.wasm",
            "--trusted-root",
            "root.json",
        ],
        "E0713",
    );
    assert!(err.contains("root.json"), "{err}");
    assert!(!s.path("out.wasm").exists());
    s.refused(
        &[
            "exec",
            "run",
            &plan,
            "--trusted-root",
            "root.json",
            "--",
            "stdin",
        ],
        "E0713",
    );
    // With the host's requirement the root is its check's: the composition is refused for
    // being unsigned, not the root for being unused.
    s.refused(
        &[
            "exec",
            "run",
            &plan,
            "--require-signature",
            "--trust-key",
            "a.pub",
            "--trusted-root",
            "root.json",
            "--",
            "stdin",
        ],
        "E0701",
    );
    // A plan that requires signatures checks its inputs with it.
    let signed = s.plan(
        "signed",
        "trust = { require-signature = true, signers = [{ key = \"a.pub\" }] }",
    );
    s.ok(&["trust", "sign", "probe.wasm", "--key", "a"]);
    s.ok(&[
        "emit",
        "build",
        &signed,
        "-o",
        "signed.wasm",
        "--trusted-root",
        "root.json",
    ]);
}
