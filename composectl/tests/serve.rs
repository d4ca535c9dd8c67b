//! `composectl exec serve` on a real socket: the two-component HTTP example answers, requests
//! that trap, loop or exhaust memory get a 500 without hurting the others, outgoing HTTP
//! follows the plan's allowlist, concurrent requests are isolated, and SIGTERM lets an
//! in-flight request finish before exiting 0. Servers listen on 127.0.0.1 with a free port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The plan for router → greeter, with `extra` appended (capabilities, grants).
fn plan(dir: &Path, router_extra: &str, extra: &str) -> PathBuf {
    let built = compose_build::build_guests(
        &root().join("examples/guests/Cargo.toml"),
        &["greeter", "http-router"],
        &root().join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("http.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"hello-http\"\n[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.router]\npath = {:?}\nexports = [\"wasi:http/incoming-handler\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\n{router_extra}\n[exports]\n\"wasi:http/incoming-handler\" = \"router\"\n[policy]\nmemory = 16777216\ntimeout-ms = 1000\nconcurrency = 64\n{extra}",
            built["greeter"].display().to_string(),
            built["http-router"].display().to_string(),
        ),
    )
    .unwrap();
    path
}

/// A running server, its address, and its log lines as they come.
struct Server {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(plan: &Path, cache: &Path) -> Server {
        Server::start_with(plan, cache, 5000)
    }

    /// Starts a server that waits up to `shutdown_ms` for in-flight requests on shutdown.
    fn start_with(plan: &Path, cache: &Path, shutdown_ms: u64) -> Server {
        let command = Command::new(env!("CARGO_BIN_EXE_composectl"));
        Server::start_command(plan, cache, shutdown_ms, command, &[])
    }

    /// Starts a server from `command` (a `composectl` command with its environment set).
    fn start_env(plan: &Path, cache: &Path, command: Command) -> Server {
        Server::start_command(plan, cache, 5000, command, &[])
    }

    fn start_command(
        plan: &Path,
        cache: &Path,
        shutdown_ms: u64,
        mut command: Command,
        extra: &[&str],
    ) -> Server {
        let mut child = command
            .args(["exec", "serve"])
            .arg(plan)
            .args(extra)
            .args(["--addr", "127.0.0.1:0", "--shutdown-timeout-ms"])
            .arg(shutdown_ms.to_string())
            .arg("--cache-dir")
            .arg(cache)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(120))
                .expect("the server starts");
            if let Some(rest) = line.strip_prefix("serving http://") {
                break rest.trim_end_matches('/').to_owned();
            }
        };
        Server {
            child,
            addr,
            log: rx,
        }
    }

    /// `GET path`: status and body.
    fn get(&self, path: &str) -> (u16, String) {
        get(&self.addr, path)
    }

    /// Log lines until every one of `wanted` has appeared in them (the server may log a
    /// request's failure just after answering it), or 30 s have passed.
    fn log_until(&self, wanted: &[&str]) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut log = String::new();
        while !wanted.iter().all(|w| log.contains(w)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    log.push_str(&line);
                    log.push('\n');
                }
                Err(_) => break,
            }
        }
        log
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Chunked bodies: keep only the data lines.
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n")
            .collect::<Vec<_>>()
            .chunks(2)
            .filter_map(|c| c.get(1).copied())
            .collect::<String>()
    } else {
        body.to_owned()
    };
    (status, body)
}

#[test]
fn serves_routes_and_isolates_failing_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&plan(dir.path(), "", ""), &dir.path().join("cache"));
    assert_eq!(server.get("/hello/World"), (200, "Hello, World!\n".into()));
    // Every path goes to the component, `/` included.
    assert_eq!(server.get("/").0, 200);
    assert_eq!(server.get("/no/such/route").0, 404);
    // `/sleep` waits in the host (a timer): the deadline cancels the wait.
    for bad in ["/panic", "/loop", "/alloc", "/sleep"] {
        let (status, body) = server.get(bad);
        assert_eq!(status, 500, "{bad}: {body}");
        assert!(body.contains("request "), "{body}");
        // The next request is served normally.
        assert_eq!(server.get("/hello/again"), (200, "Hello, again!\n".into()));
    }
    let waited = "the request's call was cancelled at its deadline";
    let log = server.log_until(&["E0502", "E0504", "E0503", waited]);
    for wanted in ["E0502", "E0504", "E0503", waited] {
        assert!(log.contains(wanted), "{wanted} in {log}");
    }

    // Concurrent requests, some of them trapping, each get their own answer.
    let addr = server.addr.clone();
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                if i % 6 == 5 {
                    (i, get(&addr, "/panic"))
                } else {
                    (i, get(&addr, &format!("/hello/n{i}")))
                }
            })
        })
        .collect();
    for h in handles {
        let (i, (status, body)) = h.join().unwrap();
        if i % 6 == 5 {
            assert_eq!(status, 500);
        } else {
            assert_eq!((status, body), (200, format!("Hello, n{i}!\n")));
        }
    }
}

/// A request that computes for long yields its worker thread at every epoch tick, so it never
/// holds up the others, even with more loops in flight than the server has worker threads.
#[test]
fn looping_requests_do_not_starve_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = plan(dir.path(), "", "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("timeout-ms = 1000", "timeout-ms = 8000");
    std::fs::write(&path, text).unwrap();
    let server = Server::start(&path, &dir.path().join("cache"));
    assert_eq!(server.get("/hello/warm").0, 200);
    // Twice as many loops as the async runtime has workers (one per core).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let loops: Vec<_> = (0..2 * workers)
        .map(|_| {
            let addr = server.addr.clone();
            std::thread::spawn(move || get(&addr, "/loop"))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let start = std::time::Instant::now();
    assert_eq!(server.get("/hello/World"), (200, "Hello, World!\n".into()));
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "a request waited {took:?} behind looping ones (their deadline is 8 s)"
    );
    for l in loops {
        assert_eq!(l.join().unwrap().0, 500);
    }
}

/// A plan at `dir` whose `/loop` requests run for `timeout_ms` and whose pool holds
/// `concurrency` instances.
fn plan_with(dir: &Path, timeout_ms: u64, concurrency: u32) -> PathBuf {
    let path = plan(dir, "", "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("timeout-ms = 1000", &format!("timeout-ms = {timeout_ms}"))
        .replace("concurrency = 64", &format!("concurrency = {concurrency}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// When the pool is full, a further request gets a 500 at once (it is not queued), and the
/// server serves again as soon as a slot frees up.
#[test]
fn a_full_pool_answers_500_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&plan_with(dir.path(), 1500, 1), &dir.path().join("cache"));
    assert_eq!(server.get("/hello/warm").0, 200);
    let addr = server.addr.clone();
    let busy = std::thread::spawn(move || get(&addr, "/loop"));
    std::thread::sleep(Duration::from_millis(400));
    let (status, body) = server.get("/hello/World");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("request "), "{body}");
    assert_eq!(busy.join().unwrap().0, 500); // its deadline
    assert_eq!(server.get("/hello/World"), (200, "Hello, World!\n".into()));
}

/// A request still running when the shutdown timeout passes is cut off: the server exits 0
/// promptly instead of waiting for it.
#[test]
fn shutdown_does_not_wait_past_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(
        &plan_with(dir.path(), 20_000, 8),
        &dir.path().join("cache"),
        300,
    );
    let addr = server.addr.clone();
    // Its connection is closed under it; whatever the client reads is not the point.
    let _in_flight = std::thread::spawn(move || {
        let _ = std::panic::catch_unwind(|| get(&addr, "/loop"));
    });
    std::thread::sleep(Duration::from_millis(500));
    let start = std::time::Instant::now();
    server.signal("TERM");
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the server still runs {:?} after SIGTERM (shutdown timeout 300 ms)",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let log = server.log_until(&["shutdown timeout passed"]);
    assert!(log.contains("shutdown timeout passed"), "{log}");
}

#[test]
fn outgoing_http_follows_the_allowlist() {
    // A loopback upstream that answers 204 to anything.
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = upstream.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in upstream.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        dir.path(),
        &format!("capabilities = {{ http = [\"{up}\"] }}"),
        &format!("[grants]\nhttp = [\"{up}\"]\n"),
    );
    let server = Server::start(&plan, &dir.path().join("cache"));
    let (status, body) = server.get(&format!("/fetch/{up}"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("answered 204"), "{body}");
    // Any other destination is denied: an error in the guest, a line in the host's log.
    let (status, body) = server.get("/fetch/127.0.0.1:9");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
    let log = server.log_until(&["`127.0.0.1:9` denied"]);
    assert!(log.contains("`127.0.0.1:9` denied"), "{log}");
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&plan(dir.path(), "", ""), &dir.path().join("cache"));
    let addr = server.addr.clone();
    // `/loop` runs until its 1 s deadline: it is in flight when the signal comes.
    let in_flight = std::thread::spawn(move || get(&addr, "/loop"));
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    let (status, _) = in_flight.join().unwrap();
    assert_eq!(status, 500, "the in-flight request was answered");
    let exit = server.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    // It no longer accepts connections.
    assert!(TcpStream::connect(&server.addr).is_err());
}

/// A one-thread HTTP server on a free loopback port that answers 200 `welcome` to requests
/// carrying `authorization: Bearer <key>` and 401 to others, recording each request's
/// `authorization` header (`-` when absent).
fn upstream(key: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut auth = "-".to_owned();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some((name, value)) = line.trim_end().split_once(':')
                    && name.eq_ignore_ascii_case("authorization")
                {
                    auth = value.trim().to_owned();
                }
                line.clear();
            }
            let (status, body) = if auth == format!("Bearer {key}") {
                ("200 OK", "welcome")
            } else {
                ("401 Unauthorized", "who are you?")
            };
            let _ = write!(
                &stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tx.send(auth);
        }
    });
    (addr, rx)
}

/// A guest attaches a `std:secrets` token to its outgoing requests without seeing it: the host
/// adds the header, only for the authority named, only if the plan allowlists it.
#[test]
fn secret_headers_reach_only_the_authority_they_were_attached_for() {
    const KEY: &str = "bearer-Secret-42";
    let (good, seen_good) = upstream(KEY);
    let (other, seen_other) = upstream(KEY);
    let unlisted = TcpListener::bind("127.0.0.1:0").unwrap();
    let unlisted = unlisted.local_addr().unwrap().to_string();
    let built = compose_build::build_guests(
        &root().join("examples/guests/Cargo.toml"),
        &["secret-fetch"],
        &root().join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let plan = dir.path().join("fetch.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = "secret-fetch"
[components.fetch]
path = {:?}
exports = ["wasi:http/incoming-handler"]
imports = {{ "std:secrets/store" = {{ host = "secrets" }}, "std:secrets/operations" = {{ host = "secrets" }} }}
capabilities = {{ http = ["{good}", "{other}"], secrets = ["api-key"] }}
[exports]
"wasi:http/incoming-handler" = "fetch"
[grants]
http = ["{good}", "{other}"]
[secrets]
api-key = "env:COMPOSE_TEST_BEARER"
"#,
            built["secret-fetch"].display().to_string()
        ),
    )
    .unwrap();
    // The server reads the secret from its environment.
    let mut child = Command::new(env!("CARGO_BIN_EXE_composectl"));
    child.env("COMPOSE_TEST_BEARER", KEY);
    let server = Server::start_env(&plan, &cache, child);

    assert_eq!(
        server.get(&format!("/api-key/{good}")),
        (200, "welcome".into())
    );
    assert_eq!(seen_good.recv().unwrap(), format!("Bearer {KEY}"));

    // Attached for `good`, sent to `other`: `other` gets no credential.
    let (status, _) = server.get(&format!("/api-key/{good}/{other}"));
    assert_eq!(status, 401);
    assert_eq!(seen_other.recv().unwrap(), "-");

    // An authority not on the allowlist gets nothing attached (and cannot be reached).
    let (status, body) = server.get(&format!("/api-key/{unlisted}"));
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("Denied") && body.contains("allowlist"),
        "{body}"
    );

    // A token the plan does not define.
    let (status, body) = server.get(&format!("/no-such-key/{good}"));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("UnknownToken"), "{body}");
    assert!(!body.contains(KEY));
}

/// A host that cannot listen on its address (it is taken) stops with the host-I/O code, not
/// with one that blames the composition.
#[test]
fn an_address_in_use_is_a_host_error() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), "", "");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(["exec", "serve"])
        .arg(&plan)
        .args(["--addr", &addr, "--cache-dir"])
        .arg(dir.path().join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E0510]"), "{err}");
    drop(taken);
}

/// `--port N` listens on 127.0.0.1:N, as `--addr 127.0.0.1:N` does.
#[test]
fn port_listens_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), "", "");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(["exec", "serve"])
        .arg(&plan)
        .args(["--port", &port.to_string(), "--cache-dir"])
        .arg(dir.path().join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let serving = lines
        .find_map(|l| l.ok().filter(|l| l.starts_with("serving ")))
        .expect("the server starts");
    assert_eq!(serving, format!("serving http://127.0.0.1:{port}/"));
    let (status, body) = get(&format!("127.0.0.1:{port}"), "/hello/World");
    assert_eq!((status, body.as_str()), (200, "Hello, World!\n"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn an_audited_server_records_requests_denials_failures_and_its_stop() {
    let dir = tempfile::tempdir().unwrap();
    let built = compose_build::build_guests(
        &root().join("examples/guests/Cargo.toml"),
        &["audited-greeter", "http-router"],
        &root().join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let plan = dir.path().join("audited.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = "audited-http"
[components.greeter]
path = {greeter:?}
exports = ["example:greet/greeter"]
imports = {{ "std:audit/log" = {{ host = "audit" }} }}
capabilities = {{ audit = "required" }}
[components.router]
path = {router:?}
exports = ["wasi:http/incoming-handler"]
imports = {{ "example:greet/greeter" = "greeter" }}
capabilities = {{ http = ["127.0.0.1:1"] }}
[exports]
"wasi:http/incoming-handler" = "router"
[grants]
audit = true
http = ["127.0.0.1:1"]
[policy]
memory = 16777216
timeout-ms = 1000
[observability]
audit = "file:audit.log"
audit-required = true
"#,
            greeter = built["audited-greeter"].display().to_string(),
            router = built["http-router"].display().to_string(),
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(
        run(&["audit", "keygen", "-o", "audit.key"])
            .status
            .success()
    );
    let key = dir.path().join("audit.key");
    let mut server = Server::start_command(
        &plan,
        &dir.path().join("cache"),
        5000,
        Command::new(env!("CARGO_BIN_EXE_composectl")),
        &["--audit-key", key.to_str().unwrap()],
    );
    for _ in 0..3 {
        assert_eq!(server.get("/hello/World").0, 200);
    }
    assert_eq!(server.get("/fetch/127.0.0.1:9").0, 502);
    assert_eq!(server.get("/panic").0, 500);
    server.log_until(&["request 5"]);
    server.signal("TERM");
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    let o = run(&["audit", "verify", "audit.log", "--key", "audit.key.pub"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["audit", "show", "audit.log", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let records = records.as_array().unwrap();
    let kinds: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["source"].as_str().unwrap(),
                r["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "guest:greet").count(),
        3,
        "{kinds:?}"
    );
    assert!(
        kinds.first().unwrap().starts_with("host:capability."),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"host:serve.start".to_owned()), "{kinds:?}");
    assert_eq!(kinds.last().unwrap(), "host:serve.stop", "{kinds:?}");
    let denied = records.iter().find(|r| r["kind"] == "http.denied").unwrap();
    assert_eq!(denied["fields"]["authority"], "127.0.0.1:9");
    assert_eq!(denied["fields"]["reason"], "not-allowed");
    assert_eq!(denied["fields"]["request"], "4");
    let failed = records
        .iter()
        .find(|r| r["kind"] == "request.failed")
        .unwrap();
    assert_eq!(failed["fields"]["request"], "5");
    assert!(
        failed["fields"]["code"].as_str().unwrap().starts_with('E'),
        "{failed}"
    );
    // No record holds a URL path: only authorities and codes.
    let all = serde_json::to_string(records).unwrap();
    assert!(
        !all.contains("/hello") && !all.contains("/fetch") && !all.contains("/panic"),
        "{all}"
    );
}
