//! `exec run X.wasm` without `--plan`: an emitted component runs under the plan it records, but
//! only with the grants that need no consent (stdout, stderr, args, clocks, random); the rest
//! take `--allow` or the user's own plan, and the refusal says which.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn composectl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(args)
        .current_dir(cwd)
        .env("COMPOSE_TEST_KEY", "the-secret-value")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_ADDR")
        .env_remove("PKCS11_PIN")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes `plan` to `dir/NAME.toml` and emits it to `dir/NAME.wasm`.
fn emitted(dir: &Path, name: &str, plan: &str) -> (PathBuf, PathBuf) {
    let toml = dir.join(format!("{name}.toml"));
    std::fs::write(&toml, plan).unwrap();
    let wasm = dir.join(format!("{name}.wasm"));
    let cache = dir.join("cache");
    let o = composectl(
        &[
            "emit",
            "build",
            toml.to_str().unwrap(),
            "-o",
            wasm.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    (toml, wasm)
}

/// The probe reading `/data/file.txt`, with `grant` as its `/data` grant.
fn probe_plan(grant: &str) -> String {
    format!(
        "name = \"probe\"\n[components.probe]\npath = {:?}\nexports = [\"wasi:cli/run\"]\ncapabilities = {{ stdout = \"required\", args = \"required\", stdin = \"optional\", dirs = [{{ guest = \"/data\", mode = \"rw\" }}] }}\n[exports]\n\"wasi:cli/run\" = \"probe\"\n[grants]\nstdout = true\nargs = true\nstdin = true\ndirs = [{grant}]\n",
        common::probe().display().to_string()
    )
}

#[test]
fn a_recorded_grant_of_the_root_folder_is_refused_until_the_user_allows_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (toml, wasm) = emitted(
        d,
        "root",
        &probe_plan("{ host = \"/\", guest = \"/data\", mode = \"rw\" }"),
    );
    let wasm = wasm.to_str().unwrap();
    let cache = d.join("cache");
    let cache = cache.to_str().unwrap();
    let read = ["--", "read-file", "/data/file.txt"];
    let run = |extra: &[&str]| {
        let mut args = vec!["exec", "run", wasm, "--cache-dir", cache];
        args.extend_from_slice(extra);
        args.extend_from_slice(&read);
        composectl(&args, d)
    };

    // Bare: refused before anything runs, naming the recorded grant and the flag.
    let o = run(&[]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E0501]"), "{err}");
    assert!(
        err.contains("host folder `/` as `/data` (read-write)"),
        "{err}"
    );
    assert!(err.contains("`--allow dirs=/::/data::rw`"), "{err}");
    assert!(err.contains("--plan PLAN"), "{err}");
    assert_eq!(o.stdout, b"", "nothing ran");

    // `--allow` a folder of the user's choosing (relative to where the user stands): it runs,
    // and sees that folder, not `/`. The optional stdin the recorded plan grants is left out,
    // with a note.
    std::fs::create_dir(d.join("mine")).unwrap();
    std::fs::write(d.join("mine/file.txt"), b"12345").unwrap();
    let o = run(&["--allow", "dirs=mine::/data::rw"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(text(&o.stdout), "allowed: read 5 bytes\n");
    assert!(
        err.contains("note: `probe`'s optional request for `stdin` is left out")
            && err.contains("`--allow stdin`"),
        "{err}"
    );
    // A read-only folder does not meet the read-write request.
    let o = run(&["--allow", "dirs=mine::/data"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("requested read-write") && err.contains("add `::rw`"),
        "{err}"
    );

    // `--plan` replaces the recorded plan entirely; `--allow` does not go with it.
    let own = d.join("own.toml");
    std::fs::write(
        &own,
        probe_plan("{ host = \"mine\", guest = \"/data\", mode = \"rw\" }"),
    )
    .unwrap();
    let o = run(&["--plan", own.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "allowed: read 5 bytes\n");
    let o = run(&["--plan", own.to_str().unwrap(), "--allow", "stdin"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));

    // Usage errors, exit 2, each saying what is wrong.
    for (allow, says) in [
        ("gpu", "not a capability"),
        ("dirs=mine", "dirs=HOST::GUEST"),
        ("env=1X", "not an environment variable name"),
        ("secrets=api-key=hunter2", "never a value"),
        (
            "network=127.0.0.1:9",
            "no component of the recorded plan requests it",
        ),
    ] {
        let o = run(&["--allow", allow]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{allow}: {err}");
        assert!(err.contains(says), "{allow}: {err}");
    }
    let o = composectl(
        &["exec", "run", toml.to_str().unwrap(), "--allow", "stdin"],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("is a plan, so grant it there"));
}

#[test]
fn a_recorded_relative_folder_is_refused_but_a_plan_files_is_relative_to_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("data")).unwrap();
    std::fs::write(d.join("data/file.txt"), b"abc").unwrap();
    let (toml, wasm) = emitted(
        d,
        "relative",
        &probe_plan("{ host = \"data\", guest = \"/data\", mode = \"rw\" }"),
    );
    let read = ["--", "read-file", "/data/file.txt"];
    // Run from `d`, where `data` would resolve: still refused, as the component does not
    // record where its plan was.
    let mut args = vec!["exec", "run", wasm.to_str().unwrap()];
    args.extend_from_slice(&read);
    let o = composectl(&args, d);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[E0501]") && err.contains("a path relative"),
        "{err}"
    );
    assert!(
        err.contains("`--allow dirs=/ABSOLUTE/PATH::/data::rw`"),
        "{err}"
    );
    // The plan file itself, run from elsewhere: `data` is next to the plan.
    let mut args = vec!["exec", "run", toml.to_str().unwrap()];
    args.extend_from_slice(&read);
    let o = composectl(&args, Path::new("/"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "allowed: read 3 bytes\n");
    // And as `--plan` for the component.
    let mut args = vec![
        "exec",
        "run",
        wasm.to_str().unwrap(),
        "--plan",
        toml.to_str().unwrap(),
    ];
    args.extend_from_slice(&read);
    let o = composectl(&args, Path::new("/"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "allowed: read 3 bytes\n");
}

#[test]
fn a_recorded_secret_reference_is_never_used_without_the_users_allow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let probe = common::guest("secret-probe");
    let plan = format!(
        r#"name = "secrets"
[components.probe]
path = {path:?}
exports = ["wasi:cli/run"]
imports = {{ "std:secrets/store" = {{ host = "secrets" }}, "std:secrets/operations" = {{ host = "secrets" }} }}
capabilities = {{ stdio = "required", args = "required", secrets = ["api-key"] }}
[exports]
"wasi:cli/run" = "probe"
[grants]
stdio = true
args = true
[secrets]
api-key = "env:COMPOSE_TEST_KEY"
"#,
        path = probe.display().to_string()
    );
    let (_, wasm) = emitted(d, "secret", &plan);
    let wasm = wasm.to_str().unwrap();
    let o = composectl(&["exec", "run", wasm, "--", "open", "api-key"], d);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E0501]"), "{err}");
    assert!(
        err.contains("reads it from `env:COMPOSE_TEST_KEY`, but secret references never come from a component"),
        "{err}"
    );
    assert!(
        err.contains("`--allow secrets=api-key=env:COMPOSE_TEST_KEY`"),
        "{err}"
    );
    assert_eq!(o.stdout, b"");
    // The recorded `stdio` gives stdout and stderr, never stdin: stdin is refused by name too.
    assert!(err.contains("requires `stdin`"), "{err}");
    assert!(err.contains("`--allow stdin`"), "{err}");
    let o = composectl(
        &[
            "exec",
            "run",
            wasm,
            "--allow",
            "stdin",
            "--allow",
            "secrets=api-key=env:COMPOSE_TEST_KEY",
            "--",
            "open",
            "api-key",
        ],
        d,
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(out, "ok: opened api-key\n");
    assert!(!out.contains("the-secret-value") && !text(&o.stderr).contains("the-secret-value"));
}

#[test]
fn a_component_that_records_no_plan_is_granted_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let probe = common::probe();
    let o = composectl(&["exec", "run", probe.to_str().unwrap(), "--", "clock"], d);
    let err = text(&o.stderr);
    assert!(err.contains("records no plan"), "{err}");
    assert!(err.contains("not even stdout"), "{err}");
    assert_eq!(o.stdout, b"");
    let o = composectl(
        &["exec", "run", probe.to_str().unwrap(), "--allow", "stdout"],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("records no plan"));
}
