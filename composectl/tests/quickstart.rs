//! The seed's quick start, typed as it stands, in a fresh copy of the repository:
//!
//! ```sh
//! composectl plan validate examples/hello-plan.cbor
//! composectl emit build examples/hello-plan.cbor -o build/hello.wasm
//! composectl exec run build/hello.wasm
//! composectl exec serve examples/http-plan.cbor --port 8080
//! cargo run -p conformance-runner -- run --json artifacts/conformance-summary.json
//! ```
//!
//! (on a free port rather than 8080, which may be taken).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Copies the repository's files (not its build outputs or Git data) from `from` to `to`,
/// keeping their modification times, so Cargo finds the workspace's compiled crates fresh.
fn copy_tree(from: &Path, to: &Path) {
    const SKIP: &[&str] = &[
        "target",
        ".git",
        "node_modules",
        "build",
        "artifacts",
        "corpus",
    ];
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).unwrap();
            let modified = entry.metadata().unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&dst)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
    }
}

/// The Cargo target folder this test was built in (`…/target/debug/deps/quickstart-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on `addr`, HTTP/1.1 with `Connection: close`: the whole response.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_seeds_five_commands_work_as_typed_in_a_copy_of_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    copy_tree(&root, &repo);
    let cache = dir.path().join("cache");
    // `composectl` as a user has it on PATH; the blob store in the test's folder.
    let composectl = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_composectl"));
        c.args(args)
            .current_dir(&repo)
            .env("COMPOSE_CACHE_DIR", &cache)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null());
        c
    };
    let run = |args: &[&str]| -> Output { composectl(args).output().unwrap() };

    let o = run(&["plan", "validate", "examples/hello-plan.cbor"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("sha256:"), "{}", text(&o.stdout));

    let o = run(&[
        "emit",
        "build",
        "examples/hello-plan.cbor",
        "-o",
        "build/hello.wasm",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(repo.join("build/hello.wasm").is_file());

    // It runs under the plan it records: stdout and arguments, nothing more.
    let o = run(&["exec", "run", "build/hello.wasm"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Hello, World!\n");

    let port = free_port().to_string();
    let mut server = composectl(&["exec", "serve", "examples/http-plan.cbor", "--port", &port])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let mut said = String::new();
    let addr = loop {
        let mut line = String::new();
        if log.read_line(&mut line).unwrap() == 0 {
            let _ = server.kill();
            panic!("the server stopped: {said}");
        }
        said.push_str(&line);
        if let Some(rest) = line.trim_end().strip_prefix("serving http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    assert_eq!(addr, format!("127.0.0.1:{port}"));
    let response = get(&addr, "/hello/World");
    let _ = server.kill();
    let _ = server.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("Hello, World!"), "{response}");

    // Cargo builds the runner in the test's own target folder, where the workspace is already
    // compiled (the copy keeps the files' times, so only what embeds its own path is redone).
    let o = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "run",
            "-p",
            "conformance-runner",
            "--",
            "run",
            "--json",
            "artifacts/conformance-summary.json",
        ])
        .current_dir(&repo)
        .env("CARGO_TARGET_DIR", target_dir())
        // The composectl under test, as for the other four commands: without it the runner
        // builds `-p composectl` with that package's own feature set into this shared target
        // folder, replacing libraries the workspace's test build (its doctests) still links.
        .env("COMPOSECTL", env!("CARGO_BIN_EXE_composectl"))
        .env("COMPOSE_CACHE_DIR", &cache)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo.join("artifacts/conformance-summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["failed"], 0, "{summary}");
    assert!(summary["passed"].as_u64().unwrap() >= 200, "{summary}");
}
