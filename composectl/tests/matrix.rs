//! The behaviour matrix: what a guest sees of each capability when it is not requested,
//! requested and granted, or requested (optionally), granted by the plan and refused by the
//! host, under each way of running a composition: `exec run`, `exec serve`, an embedded
//! composition (`Embedded`, as `compose!` binaries run it) and the typed API
//! (`Composition::instantiate_with`). All four share one host layer, so they agree, except
//! where they differ on purpose (see `differs_on_purpose`; and `exec run` refuses a composition
//! that imports `wasi:http`, checked in `through_serve`). The deadline differs on purpose too:
//! a run traps at it, while a request yields at every epoch tick before it (tested in
//! compose-runtime's `exec.rs` and composectl's `serve.rs`).
//!
//! The embedded and typed paths run in a child process (this test binary again), so that the
//! guest's standard output and input are that process's and can be read here.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use compose_model::plan::Capability;

/// What is piped into every run's standard input.
const INPUT: &[u8] = b"matrix input";
/// The environment variable the `env` probe reads, and its value.
const VAR: (&str, &str) = ("MATRIX_VAR", "matrix-value");

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// No component requests the capability (and the plan does not grant it).
    NotRequested,
    /// Requested (optionally) and granted.
    Granted,
    /// Requested (optionally) and granted by the plan, refused by the host (`--refuse`).
    Refused,
}

const STATES: [State; 3] = [State::NotRequested, State::Granted, State::Refused];

/// Capabilities in the matrix. `stdout` and `args` are how the CLI probe is driven and read, so
/// they are granted to every row but their own.
const CAPS: &[&str] = &[
    "stdin", "stdout", "args", "env", "dirs", "network", "clocks", "random",
];

/// Where the test's resources are: the folder preopened as `/data`, and a listening port.
struct World {
    dir: PathBuf,
    port: u16,
}

impl World {
    /// The request and grant (TOML fragments) for `cap`.
    fn request_and_grant(&self, cap: &str) -> (String, String) {
        let port = self.port;
        let dir = self.dir.display().to_string();
        match cap {
            "env" => (
                format!("env = {{ names = [\"{}\"], need = \"optional\" }}", VAR.0),
                format!("env = [\"{}\"]", VAR.0),
            ),
            "dirs" => (
                "dirs = [{ guest = \"/data\", need = \"optional\" }]".into(),
                format!("dirs = [{{ host = {dir:?}, guest = \"/data\" }}]"),
            ),
            "network" => (
                format!("network = {{ allow = [\"127.0.0.1:{port}\"], need = \"optional\" }}"),
                format!("network = [\"127.0.0.1:{port}\"]"),
            ),
            flag => (format!("{flag} = \"optional\""), format!("{flag} = true")),
        }
    }

    /// A plan's capabilities and grants: `caps` in `state`, plus `always` requested (required)
    /// and granted.
    fn tables(&self, caps: &[&str], state: State, always: &[&str]) -> (String, String) {
        let mut requests: Vec<String> = always
            .iter()
            .map(|c| format!("{c} = \"required\""))
            .collect();
        let mut grants: Vec<String> = always.iter().map(|c| format!("{c} = true")).collect();
        if state != State::NotRequested {
            for cap in caps {
                let (r, g) = self.request_and_grant(cap);
                requests.push(r);
                grants.push(g);
            }
        }
        (requests.join(", "), grants.join("\n"))
    }

    /// The probe's arguments that try `cap`.
    fn probe_args(&self, cap: &str) -> Vec<String> {
        let args: Vec<String> = match cap {
            "stdin" => vec!["stdin".into()],
            "env" => vec!["env".into(), VAR.0.into()],
            "dirs" => vec!["read-file".into(), "/data/file.txt".into()],
            "network" => vec!["tcp".into(), format!("127.0.0.1:{}", self.port)],
            "random" => vec!["random".into()],
            // `stdout`, `args` and `clocks` are read off the clock probe.
            _ => vec!["clock".into()],
        };
        args
    }
}

/// Whether the CLI probe's output (for `cap`'s probe) shows the capability was there.
/// `random` is judged from two runs (`second`): a fixed stream prints the same value twice.
fn cli_sees(cap: &str, out: &str, second: &str) -> bool {
    match cap {
        "stdin" => out.contains(&format!("read {} bytes from stdin", INPUT.len())),
        "stdout" => !out.is_empty(),
        "args" => out.starts_with("allowed: clock"),
        "env" => out.contains(&format!("allowed: {}={}", VAR.0, VAR.1)),
        "dirs" => out.starts_with("allowed: read"),
        "network" => out.starts_with("allowed: connected"),
        "clocks" => out.starts_with("allowed: clock") && out.trim() != "allowed: clock 0",
        "random" => out.starts_with("allowed: random") && out != second,
        other => panic!("no probe for {other}"),
    }
}

/// Where the paths differ on purpose: `exec serve` never hands a request the server's standard
/// input, nor command-line arguments (a request is not a command); typed bindings call exports
/// with the arguments the host passes, which are none.
fn differs_on_purpose(path: &str, cap: &str) -> bool {
    (path == "serve" && (cap == "stdin" || cap == "args")) || (path == "typed" && cap == "args")
}

/// What a path cannot observe: the typed survey is given no address to connect to.
fn unobservable(path: &str, cap: &str) -> bool {
    path == "typed" && cap == "network"
}

/// The plans for the CLI-shaped paths in `state`: one for every capability but `stdout` and
/// `args` (with those two always granted), and one for each of those two. Each with the
/// capabilities the host refuses in the `Refused` state.
fn cli_plans(
    world: &World,
    probe: &Path,
    state: State,
) -> Vec<(Vec<&'static str>, String, Vec<String>)> {
    let others: Vec<&'static str> = CAPS
        .iter()
        .copied()
        .filter(|c| *c != "stdout" && *c != "args")
        .collect();
    let mut plans = Vec::new();
    for (caps, always) in [
        (others, vec!["stdout", "args"]),
        (vec!["stdout"], vec!["args"]),
        (vec!["args"], vec!["stdout"]),
    ] {
        let (requests, grants) = world.tables(&caps, state, &always);
        let plan = format!(
            "name = \"probe\"\n[components.probe]\npath = {:?}\nexports = [\"wasi:cli/run\"]\ncapabilities = {{ {requests} }}\n[exports]\n\"wasi:cli/run\" = \"probe\"\n[grants]\n{grants}\n",
            probe.display().to_string()
        );
        let refused = match state {
            State::Refused => caps.iter().map(|c| c.to_string()).collect(),
            _ => Vec::new(),
        };
        plans.push((caps, plan, refused));
    }
    plans
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn guests(names: &[&str]) -> BTreeMap<String, PathBuf> {
    compose_build::build_guests(
        &root().join("examples/guests/Cargo.toml"),
        names,
        &root().join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A world with a file to read and a port that accepts connections (for as long as the test).
fn world(dir: &Path) -> World {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("file.txt"), b"twelve bytes").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    World { dir: data, port }
}

/// `composectl exec run` of `probe` under each plan: what the guest saw, per capability.
fn through_exec_run(
    world: &World,
    probe: &Path,
    cache: &Path,
    state: State,
) -> BTreeMap<String, bool> {
    let mut seen = BTreeMap::new();
    for (i, (caps, plan, refused)) in cli_plans(world, probe, state).into_iter().enumerate() {
        let plan_path = world.dir.join(format!("../run-{state:?}-{i}.toml"));
        std::fs::write(&plan_path, plan).unwrap();
        for cap in caps {
            let run = || {
                let mut args = vec![
                    "exec".to_owned(),
                    "run".into(),
                    probe.display().to_string(),
                    "--plan".into(),
                    plan_path.display().to_string(),
                ];
                for r in &refused {
                    args.extend(["--refuse".into(), r.clone()]);
                }
                args.push("--".into());
                args.extend(world.probe_args(cap));
                let o = with_input(
                    Command::new(env!("CARGO_BIN_EXE_composectl"))
                        .args(&args)
                        .env("COMPOSE_CACHE_DIR", cache),
                );
                assert!(
                    o.status.code().is_some_and(|c| c <= 1),
                    "{cap} {state:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                String::from_utf8_lossy(&o.stdout).into_owned()
            };
            let (first, second) = (run(), run());
            seen.insert(cap.to_owned(), cli_sees(cap, &first, &second));
        }
    }
    seen
}

/// Runs `command` with [`INPUT`] on its standard input and the `env` probe's variable set, and
/// collects its output. (A guest may not read its input at all: a closed pipe is no error.)
fn with_input(command: &mut Command) -> std::process::Output {
    let mut child = command
        .env(VAR.0, VAR.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(INPUT);
    child.wait_with_output().unwrap()
}

/// The embedded and typed paths, in a child process running `child_runs` below.
fn through_child(world: &World, probe: &Path, path: &str, state: State) -> BTreeMap<String, bool> {
    let o = with_input(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_runs", "--nocapture", "--test-threads=1"])
            .env("MATRIX_CHILD", path)
            .env("MATRIX_STATE", format!("{state:?}"))
            .env("MATRIX_DIR", &world.dir)
            .env("MATRIX_PORT", world.port.to_string())
            .env("MATRIX_PROBE", probe),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{path} {state:?}: {out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Sections: `@@ cap run` then the guest's output, for each run.
    let mut outputs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        // The harness's `test child_runs ... ` has no newline: the first marker follows it.
        if let Some(cap) = line.find("@@ ").map(|i| &line[i + 3..]) {
            outputs
                .entry(cap.to_owned())
                .or_default()
                .push(String::new());
            current = Some(cap.to_owned());
        } else if let Some(cap) = &current
            && !line.starts_with("test ")
            && !line.starts_with("running ")
            && !line.is_empty()
        {
            let run = outputs.get_mut(cap).and_then(|v| v.last_mut()).unwrap();
            run.push_str(line);
            run.push('\n');
        }
    }
    let mut seen = BTreeMap::new();
    for (label, runs) in outputs {
        assert_eq!(runs.len(), 2, "{label}: {runs:?}");
        if label != "survey" {
            let sees = if path == "typed" {
                // A single capability's plan under typed bindings: only output says anything.
                label == "stdout" && !runs[0].is_empty()
            } else {
                cli_sees(&label, &runs[0], &runs[1])
            };
            seen.insert(label, sees);
            continue;
        }
        // `NAME: allowed: …` lines of the survey, per probe.
        let line = |run: &str, name: &str| -> String {
            run.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_default()
                .to_owned()
        };
        for (cap, name) in [
            ("stdin", "stdin"),
            ("env", "env"),
            ("dirs", "read-file"),
            ("clocks", "clock"),
            ("random", "random"),
        ] {
            let sees = cli_sees(cap, &line(&runs[0], name), &line(&runs[1], name));
            seen.insert(cap.to_owned(), sees);
        }
    }
    seen
}

/// The child's side of [`through_child`]: loads each plan as an embedded composition (with the
/// host refusing what the state says) and runs the probe for each capability twice, through
/// `Composition::run` or through `instantiate_with` and the typed `wasi:cli/run` export.
#[test]
fn child_runs() {
    let Ok(path) = std::env::var("MATRIX_CHILD") else {
        return; // only as the child of `capabilities_behave_alike_on_every_path`
    };
    let var = |k: &str| std::env::var(k).unwrap();
    let state = STATES
        .into_iter()
        .find(|s| format!("{s:?}") == var("MATRIX_STATE"))
        .unwrap();
    let world = World {
        dir: PathBuf::from(var("MATRIX_DIR")),
        port: var("MATRIX_PORT").parse().unwrap(),
    };
    let probe = PathBuf::from(var("MATRIX_PROBE"));
    let leak = |b: Vec<u8>| -> &'static [u8] { Box::leak(b.into_boxed_slice()) };
    let text = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let component = leak(std::fs::read(&probe).unwrap());
    for (caps, plan, refused) in cli_plans(&world, &probe, state) {
        let plan = compose_model::plan::from_toml(&plan).unwrap();
        let cbor = leak(plan.to_cbor());
        let embedded = compose_runtime::Embedded::new(
            "probe",
            cbor,
            text(compose_model::Digest::of(cbor).to_string()),
            component,
            text(compose_model::Digest::of(component).to_string()),
        );
        let mut builder = embedded.builder();
        for r in &refused {
            builder = builder.refuse(Capability::parse(r).unwrap());
        }
        let composition = builder.load().unwrap();
        if path == "typed" {
            // Typed bindings pass no arguments, so the probe surveys what it can.
            let label = if caps.len() == 1 { caps[0] } else { "survey" };
            for _ in 0..2 {
                println!("@@ {label}");
                std::io::stdout().flush().unwrap();
                typed_run(&composition);
                std::io::stdout().flush().unwrap();
            }
            continue;
        }
        for cap in caps {
            for _ in 0..2 {
                println!("@@ {cap}");
                std::io::stdout().flush().unwrap();
                composition.run(&world.probe_args(cap)).unwrap();
                std::io::stdout().flush().unwrap();
            }
        }
    }
}

/// Calls the composition's `wasi:cli/run` export through `instantiate_with` and a typed
/// function, as an application with typed bindings does (no arguments reach the guest).
fn typed_run(composition: &compose_runtime::Composition) {
    let engine = composition.runtime().engine();
    let run_name = composition
        .component()
        .unwrap()
        .component_type()
        .exports(engine)
        .map(|(n, _)| n.to_owned())
        .find(|n| n.starts_with("wasi:cli/run@"))
        .expect("the probe exports wasi:cli/run");
    let mut instantiated = composition
        .instantiate_with(|store, instance| {
            let iface = instance
                .get_export_index(&mut *store, None, &run_name)
                .ok_or_else(|| wasmtime_error("no wasi:cli/run"))?;
            let func = instance
                .get_export_index(&mut *store, Some(&iface), "run")
                .ok_or_else(|| wasmtime_error("no run"))?;
            instance.get_typed_func::<(), (Result<(), ()>,)>(&mut *store, &func)
        })
        .unwrap();
    let run = instantiated.exports;
    let _ = run.call(&mut instantiated.store, ());
}

fn wasmtime_error(m: &str) -> compose_runtime::wasmtime::Error {
    compose_runtime::wasmtime::Error::msg(m.to_owned())
}

/// `composectl exec serve` of the HTTP router (wired to the greeter) in `state`, every
/// capability at once: what a request saw, per capability.
fn through_serve(world: &World, cache: &Path, state: State) -> BTreeMap<String, bool> {
    let built = guests(&["greeter", "http-router"]);
    let (requests, grants) = world.tables(CAPS, state, &[]);
    let plan = world.dir.join(format!("../serve-{state:?}.toml"));
    std::fs::write(
        &plan,
        format!(
            "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.router]\npath = {:?}\nexports = [\"wasi:http/incoming-handler\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\ncapabilities = {{ {requests} }}\n[exports]\n\"wasi:http/incoming-handler\" = \"router\"\n[grants]\n{grants}\n[policy]\ntimeout-ms = 5000\nconcurrency = 8\n",
            built["greeter"].display().to_string(),
            built["http-router"].display().to_string(),
        ),
    )
    .unwrap();
    // The same composition is no command: `exec run` refuses its `wasi:http` imports before
    // anything runs (a difference on purpose: a command has no request to answer).
    let run = Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(["exec", "run"])
        .arg(&plan)
        .arg("--cache-dir")
        .arg(cache)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[E0506]") && err.contains("wasi:http/"),
        "{err}"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_composectl"));
    command
        .args(["exec", "serve"])
        .arg(&plan)
        .args(["--addr", "127.0.0.1:0", "--cache-dir"])
        .arg(cache)
        .env(VAR.0, VAR.1);
    if state == State::Refused {
        for cap in CAPS {
            command.args(["--refuse", cap]);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(INPUT);
    let printed = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = printed.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
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
    let get = |route: &str| -> String {
        let mut s = TcpStream::connect(&addr).unwrap();
        // HTTP/1.0, so the body comes as it is, not in chunks.
        write!(s, "GET {route} HTTP/1.0\r\nhost: {addr}\r\n\r\n").unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let mut seen = BTreeMap::new();
    for cap in CAPS {
        let route = match *cap {
            "env" => format!("/probe/env/{}", VAR.0),
            "dirs" => "/probe/read-file/data/file.txt".into(),
            "network" => format!("/probe/tcp/127.0.0.1:{}", world.port),
            "stdout" => format!("/probe/stdout/{state:?}"),
            "clocks" => "/probe/clock".into(),
            other => format!("/probe/{other}"),
        };
        let (first, second) = (get(&route), get(&route));
        let sees = match *cap {
            "stdin" => first.contains(&format!("read {} bytes", INPUT.len())),
            "stdout" => {
                // Give the server's output a moment to arrive.
                std::thread::sleep(Duration::from_millis(200));
                printed
                    .lock()
                    .unwrap()
                    .contains(&format!("probe-marker {state:?}"))
            }
            "args" => !first.starts_with("allowed: 1 args") && first.starts_with("allowed:"),
            "clocks" => first.starts_with("allowed: the clock is real"),
            "random" => first.starts_with("allowed: random") && first != second,
            _ => first.starts_with("allowed:"),
        };
        seen.insert(cap.to_string(), sees);
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    seen
}

#[test]
fn capabilities_behave_alike_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let probe = guests(&["probe"]).remove("probe").unwrap();
    let cache = dir.path().join("cache");
    let mut failures = Vec::new();
    for state in STATES {
        let paths = [
            ("run", through_exec_run(&world, &probe, &cache, state)),
            ("serve", through_serve(&world, &cache, state)),
            ("embedded", through_child(&world, &probe, "embedded", state)),
            ("typed", through_child(&world, &probe, "typed", state)),
        ];
        for (path, seen) in &paths {
            for cap in CAPS {
                if unobservable(path, cap) {
                    continue;
                }
                let expected = state == State::Granted && !differs_on_purpose(path, cap);
                let got = seen.get(*cap).copied();
                if got != Some(expected) {
                    failures.push(format!(
                        "{path} × {cap} × {state:?}: expected {expected}, saw {got:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the matrix differs:\n{}",
        failures.join("\n")
    );
}
