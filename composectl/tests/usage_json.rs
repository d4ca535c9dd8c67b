//! Exit status 2 (a usage error, a file that cannot be read or written) comes with a JSON
//! report when the command line asks for one (`--json`, `--json-out FILE`), even when the
//! command line itself is what clap rejects; help and version stay as they are.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn composectl(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The one error of an exit-2 report, after checking its shape.
fn only_error(report: &Value) -> &Value {
    assert_eq!(report["ok"], false, "{report}");
    let errors = report["errors"].as_array().expect("an `errors` array");
    assert_eq!(errors.len(), 1, "{report}");
    &errors[0]
}

/// Runs `args`, expects exit 2 and a report on stdout; returns its error.
fn stdout_error(dir: &std::path::Path, args: &[&str]) -> Value {
    let o = composectl(dir, args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        !stderr.trim().is_empty(),
        "{args:?}: the person is told too"
    );
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {stderr}"));
    only_error(&report).clone()
}

#[test]
fn a_command_line_clap_rejects_is_reported_as_e0901() {
    let dir = tempfile::tempdir().unwrap();
    let e = stdout_error(
        dir.path(),
        &["plan", "validate", "--json", "--frobnicate", "x"],
    );
    assert_eq!(e["code"], "E0901");
    assert!(
        e["message"].as_str().unwrap().contains("--frobnicate"),
        "{e}"
    );
    // Clap's tip becomes the hint.
    let e = stdout_error(
        dir.path(),
        &["plan", "validate", "x", "--json", "--as", "yml"],
    );
    assert_eq!(e["code"], "E0901");
    assert!(e["message"].as_str().unwrap().contains("yml"), "{e}");
    assert!(e["help"].as_str().unwrap().contains("toml"), "{e}");
    // A missing required argument.
    let e = stdout_error(dir.path(), &["wit", "id", "--json"]);
    assert_eq!(e["code"], "E0901");
    assert!(e["message"].as_str().unwrap().contains("<PATH>"), "{e}");
    // Without `--json`, stdout stays empty.
    let o = composectl(dir.path(), &["plan", "validate", "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn a_file_that_cannot_be_read_is_reported_as_e0902_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = stdout_error(dir.path(), &["plan", "validate", "--json", "missing.toml"]);
    assert_eq!(e["code"], "E0902");
    assert!(
        e["message"].as_str().unwrap().contains("missing.toml"),
        "{e}"
    );
    let e = stdout_error(dir.path(), &["cbor", "check", "--json", "missing.cbor"]);
    assert_eq!(e["code"], "E0902");
    let e = stdout_error(dir.path(), &["wit", "id", "--json", "missing.wit"]);
    assert_eq!(e["code"], "E0902", "{e}");
}

#[test]
fn exec_writes_its_exit_2_report_to_json_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), "").unwrap();
    let report = dir.path().join("out/report.json");
    let read = || -> Value { serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap() };
    // A usage error found after parsing: `--allow` on a plan.
    let o = composectl(
        dir.path(),
        &[
            "exec",
            "run",
            "--json-out",
            "out/report.json",
            "plan.toml",
            "--allow",
            "stdout",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "stdout is the guest's");
    let e = only_error(&read()).clone();
    assert_eq!(e["code"], "E0901");
    assert!(
        e["message"].as_str().unwrap().contains("grant it there"),
        "{e}"
    );
    // One clap rejects, with `--json-out=FILE`.
    std::fs::remove_file(&report).unwrap();
    let o = composectl(
        dir.path(),
        &[
            "exec",
            "serve",
            "--json-out=out/report.json",
            "plan.toml",
            "--port",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(only_error(&read())["code"], "E0901");
    // An unknown capability to refuse.
    let o = composectl(
        dir.path(),
        &[
            "exec",
            "run",
            "--json-out",
            "out/report.json",
            "plan.toml",
            "--refuse",
            "gpu",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = only_error(&read()).clone();
    assert_eq!(e["code"], "E0901");
    assert!(e["message"].as_str().unwrap().contains("gpu"), "{e}");
}

#[test]
fn other_coded_exit_2_errors_keep_their_own_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
    std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
    std::fs::write(dir.path().join("root.json"), "{}").unwrap();
    // A key that does not parse: the trust error's own code.
    let e = stdout_error(
        dir.path(),
        &["trust", "verify", "a.wasm", "--key", "bad.pem", "--json"],
    );
    assert_eq!(e["code"], "E0709", "{e}");
    assert!(!e["message"].as_str().unwrap().starts_with("error["), "{e}");
    // A trusted root that nothing would use.
    let o = composectl(
        dir.path(),
        &[
            "exec",
            "run",
            "a.wasm",
            "--trusted-root",
            "root.json",
            "--json-out",
            "r.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(only_error(&report)["code"], "E0713");
}

#[test]
fn help_and_version_are_unchanged_by_json() {
    let dir = tempfile::tempdir().unwrap();
    let o = composectl(dir.path(), &["plan", "validate", "--json", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Usage:"));
    let o = composectl(dir.path(), &["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("composectl "));
    // Arguments after `--` are the guest's: no report for them.
    let o = composectl(dir.path(), &["exec", "run", "missing.wasm", "--", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}
