//! The command-line contract: exit codes, inputs, outputs and messages people read.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn composectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/plans/hello.toml")
        .display()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["plan"],
        &["plan", "validate"],
        &["cbor", "frobnicate", "x"],
        &["plan", "show", "x", "--format", "yaml"],
    ] {
        let o = composectl(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn missing_files_exit_2_and_name_the_file() {
    for args in [
        &["plan", "validate", "/nonexistent/compose.toml"][..],
        &["cbor", "check", "/nonexistent/x.cbor"],
    ] {
        let o = composectl(args);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("failed to read `/nonexistent/"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn help_lists_the_commands() {
    let o = composectl(&["--help"]);
    let out = String::from_utf8_lossy(&o.stdout);
    for word in ["plan", "cbor", "Exit status"] {
        assert!(out.contains(word), "{out}");
    }
    let o = composectl(&["plan", "--help"]);
    let out = String::from_utf8_lossy(&o.stdout);
    for word in ["validate", "encode", "show", "digest"] {
        assert!(out.contains(word), "{out}");
    }
}

#[test]
fn validate_prints_digest_and_rendered_errors() {
    let o = composectl(&["plan", "validate", &example()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid, 2 components, digest sha256:"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("compose.toml");
    std::fs::write(
        &bad,
        "[components.app]\npath = \"a.wasm\"\nimports = { \"a:b/c\" = \"nobody\" }\n",
    )
    .unwrap();
    let o = composectl(&["plan", "validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[E0202]"), "{err}");
    assert!(err.contains("compose.toml:3:23"), "{err}");
    assert!(err.contains("1 error"), "{err}");

    let o = composectl(&["plan", "validate", "--json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["code"], "E0202");
    assert_eq!(json["errors"][0]["line"], 3);
    assert_eq!(json["errors"][0]["column"], 23);
    assert_eq!(
        json["errors"][0]["path"],
        "components.app.imports.\"a:b/c\""
    );
}

#[test]
fn encode_show_digest_agree_and_output_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.cbor");
    let o = composectl(&["plan", "encode", &example(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Only the output file is left behind: the temporary file was renamed into place.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let d1 = composectl(&["plan", "digest", &example()]).stdout;
    let d2 = composectl(&["plan", "digest", out.to_str().unwrap()]).stdout;
    assert_eq!(d1, d2);
    assert!(String::from_utf8_lossy(&d1).trim().starts_with("sha256:"));
    let json = composectl(&["plan", "show", out.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["components"]["app"]["imports"]["example:greet/greeter"]["component"],
        "greeter"
    );
    // An invalid plan never overwrites an existing output.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "schema = 9\n").unwrap();
    let before = std::fs::read(&out).unwrap();
    let o = composectl(&[
        "plan",
        "encode",
        bad.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn stdin_is_read_with_dash() {
    let o = with_stdin(&["cbor", "check", "-"], &[0x18, 0x17]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0030]"));
    assert!(stderr(&o).contains("byte offset 0"));
    let o = with_stdin(&["cbor", "canon", "-"], &[0x18, 0x17]);
    assert_eq!(o.stdout, [0x17]);
    let o = with_stdin(&["plan", "digest", "--as", "toml", "-"], b"");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn non_utf8_toml_is_a_plan_error_not_a_crash() {
    let o = with_stdin(
        &["plan", "validate", "--as", "toml", "-"],
        &[0xff, 0xfe, 0x00],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("E0101"));
}

/// Hostile CBOR: huge declared lengths and deep nesting are errors (exit 1), never a crash,
/// an allocation failure or a stack overflow.
#[test]
fn hostile_cbor_is_refused_cleanly() {
    let mut deep = vec![0x81u8; 100_000];
    deep.push(0);
    let cases: Vec<Vec<u8>> = vec![
        vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00],
        vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        deep,
        vec![0x9f; 100_000],
        vec![0xc6; 100_000],
    ];
    for input in cases {
        for cmd in ["check", "canon", "diag"] {
            let o = with_stdin(&["cbor", cmd, "-"], &input);
            assert_eq!(
                o.status.code(),
                Some(1),
                "cbor {cmd} on {:02x?}…: {}",
                &input[..4],
                stderr(&o)
            );
        }
    }
}

#[test]
fn diag_prints_rfc_notation() {
    let o = with_stdin(
        &["cbor", "diag", "-"],
        &[
            0xbf, 0x61, 0x61, 0x01, 0x61, 0x62, 0x9f, 0x02, 0x03, 0xff, 0xff,
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        r#"{_ "a": 1, "b": [_ 2, 3]}"#
    );
}

#[test]
fn wit_id_prints_one_line_and_errors_have_codes() {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/std-audit");
    let o = composectl(&["wit", "id", wit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.starts_with("sha256:") && out.trim().len() == 71,
        "{out}"
    );
    let o = composectl(&["wit", "id", wit.to_str().unwrap(), "--item", "log"]);
    assert_ne!(String::from_utf8(o.stdout).unwrap(), out);

    let o = composectl(&["wit", "id", wit.to_str().unwrap(), "--item", "lg"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error[E0302]") && stderr(&o).contains("`log`"),
        "{}",
        stderr(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wit");
    std::fs::write(&bad, "package a:b;\ninterface x { f: func() -> strin; }\n").unwrap();
    let o = composectl(&["wit", "id", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error[E0301]") && stderr(&o).contains("bad.wit:2:28"),
        "{}",
        stderr(&o)
    );

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let o = composectl(&["wit", "id", core.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0303]"), "{}", stderr(&o));

    assert_eq!(composectl(&["wit", "id"]).status.code(), Some(2));
    assert_eq!(
        composectl(&["wit", "id", "/nonexistent.wit"]).status.code(),
        Some(2)
    );
}

fn guests_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/guests")
}

/// `exec run` of a plan: emit (building the guest crates), run, print, exit 0; the cache makes
/// the second run reuse everything. Output goes through the real stdout of the process.
#[test]
fn exec_run_prints_the_greeting_and_propagates_failure() {
    let cache = tempfile::tempdir().unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    let plan = guests_dir().join("chain.toml");
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("chain.wasm");
    // Emits the plan to `to` in its own process, sharing the test's cache.
    let emit = |to: &Path, extra: &[&str]| {
        let mut args = vec![
            "emit",
            "build",
            plan.to_str().unwrap(),
            "-o",
            to.to_str().unwrap(),
            "--guest-target-dir",
            target.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(&args)
            .env("COMPOSE_CACHE_DIR", cache.path())
            .output()
            .unwrap()
    };
    let o = emit(&wasm, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Another process, no cache: the same bytes.
    let again = out.path().join("again.wasm");
    let o = emit(&again, &["--no-cache"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&wasm).unwrap()
    );
    // Output folders are created, as compilers do (`-o build/hello.wasm`).
    let nested = out.path().join("a/b/c.wasm");
    let o = emit(&nested, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&nested).unwrap(),
        std::fs::read(&wasm).unwrap()
    );
    // A folder that cannot be made (a file is in the way) is an I/O error, exit 2.
    std::fs::write(out.path().join("file"), b"").unwrap();
    let o = emit(&out.path().join("file/x.wasm"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("failed to create the folder"),
        "{}",
        stderr(&o)
    );
    let run = |extra: &[&str]| {
        let mut args = vec![
            "exec",
            "run",
            wasm.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(&args)
            .env("COMPOSE_CACHE_DIR", cache.path())
            .output()
            .unwrap()
    };
    let o = run(&["--", "Compose"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "*** Hello, Compose! ***\n"
    );
    // Without `--plan` it runs under the plan it records, which asks only for output and
    // arguments (tests/recorded.rs has the rest).
    let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(["exec", "run", wasm.to_str().unwrap(), "--", "Compose"])
        .env("COMPOSE_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "*** Hello, Compose! ***\n"
    );
    // The host refusing a required capability: exit 1, the code, and no output.
    let o = run(&["--refuse", "stdio"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0501]"), "{}", stderr(&o));
    assert_eq!(o.stdout, b"");
    assert_eq!(run(&["--refuse", "gpu"]).status.code(), Some(2));
}

/// With `determinism = "required"`, clocks and random numbers are fixed: two runs print the same
/// bytes; without it, the clock is real.
#[test]
fn deterministic_runs_print_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/probe.wasm");
    if !probe.exists() {
        // Built by the exec test above or by compose-runtime's tests; build it if run alone.
        compose_build::build_guests(
            &guests_dir().join("Cargo.toml"),
            &["probe"],
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests"),
        )
        .unwrap();
    }
    let plan = |determinism: &str| {
        let p = dir.path().join(format!("{determinism}.toml"));
        std::fs::write(
            &p,
            format!(
                "[components.probe]\npath = {:?}\nexports = [\"wasi:cli/run\"]\ncapabilities = {{ stdout = \"required\", args = \"required\", clocks = \"required\", random = \"required\" }}\n[exports]\n\"wasi:cli/run\" = \"probe\"\n[grants]\nstdout = true\nargs = true\nclocks = true\nrandom = true\n[policy]\ndeterminism = \"{determinism}\"\n",
                probe.display().to_string()
            ),
        )
        .unwrap();
        p
    };
    let run = |plan: &Path, what: &str| {
        let o = composectl(&[
            "exec",
            "run",
            probe.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "--no-cache",
            "--",
            what,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o.stdout
    };
    let fixed = plan("required");
    for what in ["clock", "random"] {
        assert_eq!(
            run(&fixed, what),
            run(&fixed, what),
            "{what} differs between deterministic runs"
        );
    }
    let real = plan("allowed");
    assert_ne!(run(&real, "clock"), run(&fixed, "clock"));
}

/// The composed output is a plain component: `wasm-tools validate` accepts it and
/// `wasmtime run` runs it, and `wasm-tools component wit` reads every WIT package. Runs only
/// where those tools are installed (`cargo xtask bench-exec` installs them); says so otherwise.
#[test]
fn peer_tools_accept_our_outputs_when_installed() {
    let has = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if has("wasm-tools") {
        for entry in std::fs::read_dir(root.join("wit")).unwrap() {
            let o = Command::new("wasm-tools")
                .args(["component", "wit"])
                .arg(entry.unwrap().path())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    } else {
        eprintln!("skipped: wasm-tools is not installed");
    }
    if !has("wasm-tools") && !has("wasmtime") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("hello.wasm");
    let target = root.join("target/guests");
    let o = composectl(&[
        "emit",
        "build",
        guests_dir().join("hello.toml").to_str().unwrap(),
        "-o",
        wasm.to_str().unwrap(),
        "--guest-target-dir",
        target.to_str().unwrap(),
        "--no-cache",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    if has("wasm-tools") {
        let o = Command::new("wasm-tools")
            .arg("validate")
            .arg(&wasm)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    if has("wasmtime") {
        let o = Command::new("wasmtime")
            .arg("run")
            .arg(&wasm)
            .arg("World")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "Hello, World!\n",
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    } else {
        eprintln!("skipped: wasmtime is not installed");
    }
}

/// Emit and exec errors come out rendered, with the code and the plan's file:line:col, and exit 1.
#[test]
fn emit_and_exec_errors_are_rendered_with_places() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("compose.toml");
    std::fs::write(&plan, "[components.app]\npath = \"missing.wasm\"\nexports = [\"wasi:cli/run\"]\n[exports]\n\"wasi:cli/run\" = \"app\"\n").unwrap();
    let out = dir.path().join("out.wasm");
    let o = composectl(&[
        "emit",
        "build",
        plan.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-cache",
        "--cache-dir",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error[E0404]")
            && err.contains("compose.toml:2:8")
            && err.contains("missing.wasm"),
        "{err}"
    );
    assert!(!out.exists(), "a failed emit left an output file");
    let o = composectl(&[
        "exec",
        "run",
        plan.to_str().unwrap(),
        "--cache-dir",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0404]"), "{}", stderr(&o));
    // An invalid plan is reported as such by both.
    std::fs::write(&plan, "schema = 7\n").unwrap();
    for cmd in [
        &[
            "emit",
            "build",
            plan.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ][..],
        &["exec", "run", plan.to_str().unwrap()],
    ] {
        let o = composectl(cmd);
        assert_eq!(o.status.code(), Some(1), "{cmd:?}");
        assert!(stderr(&o).contains("error[E0107]"), "{}", stderr(&o));
    }
}

#[test]
fn crate_sources_are_looked_for_from_the_plans_folder_up_even_when_it_is_named_bare() {
    const PLAN: &str = "[components.app]\ncrate = \"app\"\nexports = [\"wasi:cli/run\"]\n[exports]\n\"wasi:cli/run\" = \"app\"\n";
    let emit_here = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args([
                "emit",
                "build",
                "compose.toml",
                "-o",
                "out.wasm",
                "--no-cache",
            ])
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // No Cargo.toml anywhere above: the message names the folder searched from.
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    std::fs::write(bare.join("compose.toml"), PLAN).unwrap();
    let o = emit_here(&bare);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error[E0404]")
            && err.contains(&format!("no Cargo.toml in `{}`", bare.display())),
        "{err}"
    );
    // A workspace two folders up is found (its manifest is broken on purpose, so the build
    // stops at reading it, naming it).
    let plans = dir.path().join("ws/plans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::write(dir.path().join("ws/Cargo.toml"), "this is not a manifest").unwrap();
    std::fs::write(plans.join("compose.toml"), PLAN).unwrap();
    let o = emit_here(&plans);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        !err.contains("no Cargo.toml in") && err.contains("ws/Cargo.toml"),
        "{err}"
    );
    assert!(!plans.join("out.wasm").exists());
}

#[test]
fn emit_build_from_outside_the_project_builds_guests_with_their_workspaces_toolchain() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let outside = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .arg("emit")
        .arg("build")
        .arg(root.join("examples/plans/hello.toml"))
        .args(["-o", "hello.wasm", "--no-cache", "--workspace"])
        .arg(root.join("examples/guests"))
        .arg("--guest-target-dir")
        .arg(root.join("target/guests"))
        .arg("--cache-dir")
        .arg(outside.path().join("cache"))
        .current_dir(outside.path())
        // What `cargo +other run` or a build script would leave behind: neither may choose the
        // toolchain the guests are built with.
        .env("RUSTUP_TOOLCHAIN", "no-such-toolchain")
        .env("RUSTC", "/bin/false")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(outside.path().join("hello.wasm").is_file());
}

#[test]
fn a_failed_guest_build_shows_cargos_output_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    // Two components from the one failing build: its output is still told once.
    std::fs::write(
        dir.path().join("compose.toml"),
        "[components.a]\ncrate = \"broken-guest\"\nexports = [\"example:greet/greeter\"]\n[components.b]\ncrate = \"broken-guest\"\nexports = [\"example:greet/other\"]\n[exports]\n\"example:greet/greeter\" = \"a\"\n\"example:greet/other\" = \"b\"\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args([
            "emit",
            "build",
            "compose.toml",
            "-o",
            "out.wasm",
            "--no-cache",
        ])
        .arg("--workspace")
        .arg(root.join("compose-macros/tests/ui/broken-guest"))
        .arg("--guest-target-dir")
        .arg(dir.path().join("target"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.matches("mismatched types").count(), 1, "{err}");
    assert_eq!(err.matches("error[E0407]").count(), 2, "{err}");
    assert!(err.contains("not built (see the error for `a`)"), "{err}");
    assert!(!dir.path().join("out.wasm").exists());
}

#[test]
fn completions_offer_every_subcommands_arguments() {
    for shell in ["bash", "zsh", "fish"] {
        let o = composectl(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        // Arguments of nested subcommands, whose definitions are deferred until invoked.
        for word in [
            "emit",
            "trust",
            "require-signature",
            "trust-key",
            "sign-key",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let o = composectl(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bash"), "{}", stderr(&o));
}

#[test]
fn man_pages_document_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man/man1");
    let o = composectl(&["man", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let top = std::fs::read_to_string(out.join("composectl.1")).unwrap();
    assert!(top.contains(".TH composectl"), "{top}");
    let run = std::fs::read_to_string(out.join("composectl-exec-run.1")).unwrap();
    assert!(
        run.contains("require\\-signature") && run.contains("trust\\-key"),
        "{run}"
    );
    assert!(out.join("composectl-trust-verify.1").is_file());
    assert!(!out.join("composectl-help.1").exists());
}

#[test]
fn emit_build_json_reports_the_result_or_every_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hello.wasm");
    let emit = |plan: &Path| {
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .arg("emit")
            .arg("build")
            .arg(plan)
            .arg("-o")
            .arg(&out)
            .arg("--guest-target-dir")
            .arg(root.join("target/guests"))
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg("--json")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = emit(&root.join("examples/guests/hello.toml"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["bytes"], bytes.len());
    assert_eq!(
        report["digest"],
        compose_model::Digest::of(&bytes).to_string()
    );
    assert!(
        report["plan_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(report["bundle"], serde_json::Value::Null);

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[components.app]\npath = \"missing.wasm\"\nexports = [\"wasi:cli/run\"]\n[exports]\n\"wasi:cli/run\" = \"app\"\n").unwrap();
    let o = emit(&bad);
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let e = &report["errors"][0];
    assert_eq!(e["code"], "E0404");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(2), Some(8))
    );
    assert_eq!(e["path"], "components.app.path");
}

#[test]
fn wit_and_cbor_commands_report_as_json_too() {
    let json = |o: &Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
    };
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/std-audit");
    let wit = wit.to_str().unwrap();
    let plain = composectl(&["wit", "id", wit]);
    let o = composectl(&["wit", "id", wit, "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let id = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(json(&o), serde_json::json!({"ok": true, "id": id.trim()}));
    let o = composectl(&["wit", "canon", wit, "--item", "log", "--json"]);
    assert!(json(&o)["form"].as_str().unwrap().contains("canon:wit/v1"));
    let o = composectl(&["wit", "id", wit, "--item", "lg", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["errors"][0]["code"], "E0302");

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("one.cbor");
    std::fs::write(&good, [0x01]).unwrap();
    let long = dir.path().join("long.cbor");
    std::fs::write(&long, [0x18, 0x01]).unwrap(); // 1, not in its shortest form
    let (good, long) = (good.to_str().unwrap(), long.to_str().unwrap());
    let o = composectl(&["cbor", "check", good, "--json"]);
    assert_eq!(json(&o), serde_json::json!({"ok": true, "bytes": 1}));
    let o = composectl(&["cbor", "check", long, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let report = json(&o);
    assert_eq!(report["ok"], false);
    assert!(
        report["errors"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with('E')
    );
    assert_eq!(report["errors"][0]["offset"], 0);
    let o = composectl(&["cbor", "diag", good, "--json"]);
    assert_eq!(json(&o), serde_json::json!({"ok": true, "diagnostic": "1"}));
    let out = dir.path().join("canon.cbor");
    let o = composectl(&["cbor", "canon", long, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(json(&o)["bytes"], 1);
    assert_eq!(std::fs::read(&out).unwrap(), [0x01]);
    // Binary output and JSON cannot share stdout.
    assert_eq!(
        composectl(&["cbor", "canon", long, "--json"]).status.code(),
        Some(2)
    );
}

#[test]
fn exec_json_out_reports_how_a_run_ended_while_stdout_stays_the_guests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let hello = root.join("examples/guests/hello.toml");
    let wasm = dir.path().join("hello.wasm");
    let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .arg("emit")
        .arg("build")
        .arg(&hello)
        .arg("-o")
        .arg(&wasm)
        .arg("--guest-target-dir")
        .arg(root.join("target/guests"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = |input: &Path, extra: &[&str]| {
        let _ = std::fs::remove_file(&report);
        let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
            .arg("exec")
            .arg("run")
            .arg(input)
            .arg("--json-out")
            .arg(&report)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        (o, json)
    };
    let plan = hello.to_str().unwrap();
    let (o, json) = run(&wasm, &["--plan", plan, "--", "World"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Hello, World!\n");
    assert_eq!(json, serde_json::json!({"ok": true, "exit_code": 0}));
    // The host refuses what the plan requires: a coded refusal, nothing on stdout.
    let (o, json) = run(
        &wasm,
        &["--plan", plan, "--refuse", "stdout", "--", "World"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert_eq!(json["ok"], false);
    let code = json["errors"][0]["code"].as_str().unwrap();
    assert!(stderr(&o).contains(&format!("[{code}]")), "{}", stderr(&o));
    // An invalid plan: the error with its place.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "schema = 7\n").unwrap();
    let (o, json) = run(&bad, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json["errors"][0]["code"], "E0107");
    assert_eq!(json["errors"][0]["line"], 1);
}

#[test]
fn the_quick_starts_cbor_plans_are_their_toml_encoded_and_build_from_the_repository_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let at_root = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(args)
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for name in ["hello-plan", "http-plan"] {
        let (toml, cbor) = (
            format!("examples/{name}.toml"),
            format!("examples/{name}.cbor"),
        );
        let o = at_root(&["plan", "encode", &toml]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            o.stdout == std::fs::read(root.join(&cbor)).unwrap(),
            "{cbor} is not `plan encode {toml}`: regenerate it with `composectl plan encode {toml} -o {cbor}`"
        );
        assert_eq!(at_root(&["plan", "validate", &cbor]).status.code(), Some(0));
    }
    // From the repository root, with relative paths, as the quick start types them: the CBOR
    // plan's `crate` sources come from its `workspace`.
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("build/hello.wasm");
    let cache = out.path().join("cache");
    let (wasm, cache) = (wasm.to_str().unwrap(), cache.to_str().unwrap());
    let o = at_root(&[
        "emit",
        "build",
        "examples/hello-plan.cbor",
        "-o",
        wasm,
        "--guest-target-dir",
        "target/guests",
        "--cache-dir",
        cache,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = at_root(&[
        "exec",
        "run",
        wasm,
        "--plan",
        "examples/hello-plan.cbor",
        "--cache-dir",
        cache,
        "--",
        "World",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Hello, World!\n");
}

/// An output that cannot be written is reported with its path, exits 2 (a file that could
/// not be written, E0902) and leaves nothing
/// behind: the composed component is written beside its validation, to a temporary file
/// that is put in place only at the end.
#[test]
fn an_output_that_cannot_be_written_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"a file").unwrap();
    let emit = |out: &Path| {
        composectl(&[
            "emit",
            "build",
            guests_dir().join("hello.toml").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--guest-target-dir",
            target.to_str().unwrap(),
            "--no-cache",
            "--cache-dir",
            dir.path().join("c").to_str().unwrap(),
        ])
    };
    let o = emit(&blocker.join("hello.wasm"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("failed to create the folder") && stderr(&o).contains("not-a-folder"),
        "{}",
        stderr(&o)
    );
    // A folder that exists: the output appears, and nothing else does.
    let out = dir.path().join("out/hello.wasm");
    let o = emit(&out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["hello.wasm"]);
}
