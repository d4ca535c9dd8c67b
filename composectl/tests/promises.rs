//! A plan may only promise what the host enforces: what this host does not implement is refused
//! (E0214) by `emit build` and `exec run`, never run as if it had not been asked, while
//! `plan validate` still accepts the plan. And a guest granted output only never reads what is
//! piped into `composectl`. A plan's deadline stops a guest waiting in a host call, not only
//! one running its own code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::probe;

/// `composectl ARGS` started with a private cache and its three streams piped.
fn spawn(args: &[&str], cache: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(args)
        .env("COMPOSE_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `composectl ARGS` with `input` on its standard input and a private cache.
fn composectl(args: &[&str], input: &[u8], cache: &Path) -> Output {
    let mut child = spawn(args, cache);
    // The guest may not read it all (or at all): a closed pipe is not an error here.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A plan around the probe requesting and granting `streams` (TOML keys), plus `extra`.
fn probe_plan(dir: &Path, name: &str, streams: &[&str], extra: &str) -> PathBuf {
    let requests: String = streams
        .iter()
        .map(|s| format!(", {s} = \"required\""))
        .collect();
    let grants: String = streams.iter().map(|s| format!("{s} = true\n")).collect();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[components.probe]\npath = {:?}\nexports = [\"wasi:cli/run\"]\ncapabilities = {{ args = \"required\"{requests} }}\n[exports]\n\"wasi:cli/run\" = \"probe\"\n[grants]\nargs = true\n{grants}{extra}",
            probe().display().to_string()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_guest_granted_output_only_reads_nothing_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let secret = b"piped data the guest must not see\n";
    // `exec run` of the probe's `stdin` probe under `plan`, the host refusing `refused`.
    let probe_stdin = |plan: &Path, refused: &[&str]| {
        let mut args = vec![
            "exec".to_owned(),
            "run".into(),
            probe().display().to_string(),
            "--plan".into(),
            plan.display().to_string(),
        ];
        for r in refused {
            args.extend(["--refuse".into(), r.to_string()]);
        }
        args.extend(["--".into(), "stdin".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        composectl(&args, secret, dir.path())
    };
    let run = |streams: &[&str]| {
        let plan = probe_plan(dir.path(), &streams.join("-"), streams, "");
        let o = probe_stdin(&plan, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    assert_eq!(
        run(&["stdout", "stderr"]),
        "allowed: read 0 bytes from stdin\n"
    );
    assert_eq!(run(&["stdout"]), "allowed: read 0 bytes from stdin\n");
    // Granted, it reads what was piped in; `stdio` still means all three streams.
    let n = secret.len();
    assert_eq!(
        run(&["stdin", "stdout"]),
        format!("allowed: read {n} bytes from stdin\n")
    );
    assert_eq!(
        run(&["stdio"]),
        format!("allowed: read {n} bytes from stdin\n")
    );
    // The host refusing stdin (or all of `stdio`) stops a run that requires it.
    let plan = probe_plan(dir.path(), "in", &["stdin", "stdout"], "");
    for refused in ["stdin", "stdio"] {
        let o = probe_stdin(&plan, &[refused]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("error[E0501]"),
            "{}",
            text(&o.stderr)
        );
        assert_eq!(o.stdout, b"");
    }
}

/// One plan per field this host does not implement; each is a valid plan, and each is refused
/// with E0214 naming its plan path by `emit build` and by `exec run` (from the plan, and for a
/// component with `--plan`), before anything runs or is written.
#[test]
fn what_the_host_does_not_implement_is_refused_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE";
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "signers",
            &["stdout"],
            &format!("[components.probe.trust]\nsigners = [{{ key = \"{key}\" }}]\n"),
            "components.probe.trust.signers",
        ),
        (
            "metrics",
            &["stdout"],
            "[observability]\nmetrics = true\n",
            "observability.metrics",
        ),
        (
            "audit",
            &["stdout"],
            "[observability]\naudit = \"stderr\"\n",
            "observability.audit",
        ),
        (
            "attest",
            &["stdout"],
            "[observability]\nattest = true\n",
            "observability.attest",
        ),
        (
            "tenant",
            &["stdout"],
            "[policy]\ntenant = \"acme\"\n",
            "policy.tenant",
        ),
        (
            "metrics-cap",
            &["stdout", "metrics"],
            "",
            "components.probe.capabilities.metrics",
        ),
        (
            "audit-determinism",
            &["stdout", "audit"],
            "[policy]\ndeterminism = \"required\"\n",
            "grants.audit",
        ),
        (
            "determinism",
            &["stdio"],
            "[policy]\ndeterminism = \"required\"\n",
            "grants.stdin",
        ),
    ];
    for (name, streams, extra, path) in cases {
        let plan = probe_plan(dir.path(), name, streams, extra);
        let plan = plan.to_str().unwrap();
        let o = composectl(&["plan", "validate", plan], b"", dir.path());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
        let out = dir.path().join(format!("{name}.wasm"));
        let o = composectl(
            &["emit", "build", plan, "-o", out.to_str().unwrap()],
            b"",
            dir.path(),
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("error[E0214]"), "{name}: {err}");
        assert!(err.contains(&format!("plan path: {path}")), "{name}: {err}");
        assert!(!out.exists(), "{name}: emit wrote its output");
        for args in [
            vec!["exec", "run", plan, "--", "clock"],
            vec![
                "exec",
                "run",
                probe().to_str().unwrap(),
                "--plan",
                plan,
                "--",
                "clock",
            ],
        ] {
            let o = composectl(&args, b"", dir.path());
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{name} {args:?}: {err}");
            assert!(err.contains("error[E0214]"), "{name} {args:?}: {err}");
            assert!(err.contains(path), "{name} {args:?}: {err}");
            assert_eq!(o.stdout, b"", "{name} {args:?}: the guest ran");
        }
    }
}

/// `composectl ARGS` whose standard input is a pipe kept open (nothing is written, and it never
/// ends), killed if it runs longer than `limit`; returns its output and how long it ran.
fn composectl_waiting(args: &[&str], cache: &Path, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = spawn(args, cache);
    let stdin = child.stdin.take();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "`composectl {}` still ran after {limit:?}: the deadline did not stop it\n{}",
                args.join(" "),
                text(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    drop(stdin);
    (child.wait_with_output().unwrap(), took)
}

#[test]
fn the_deadline_stops_a_guest_waiting_in_a_host_call() {
    let dir = tempfile::tempdir().unwrap();
    let plan = probe_plan(
        dir.path(),
        "waits",
        &["stdin", "stdout", "stderr"],
        "[policy]\ntimeout-ms = 300\n",
    );
    let plan = plan.display().to_string();
    let exe = probe().display().to_string();
    // Sleeping an hour on a monotonic-clock pollable, reading a standard input that never
    // ends, writing to a standard output nobody reads (the pipe fills): each waits in the host,
    // where epoch interruption cannot reach.
    for (probe_args, waited_in) in [
        (&["sleep", "3600"][..], "wasi:io/poll"),
        (&["stdin"][..], "wasi:io/"),
        (&["flood"][..], "wasi:io/streams.output-stream"),
    ] {
        let mut args = vec!["exec", "run", &exe, "--plan", &plan, "--"];
        args.extend(probe_args);
        let (o, took) = composectl_waiting(&args, dir.path(), Duration::from_secs(60));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{probe_args:?}: {stderr}");
        assert!(stderr.contains("E0504"), "{probe_args:?}: {stderr}");
        assert!(stderr.contains(waited_in), "{probe_args:?}: {stderr}");
        assert!(
            took >= Duration::from_millis(300),
            "{probe_args:?}: {took:?}"
        );
        if probe_args[0] != "flood" {
            assert_eq!(text(&o.stdout), "", "{probe_args:?}");
        }
    }
}
