//! Running real compositions of the example guests: results, deny-by-default, limits, and a
//! host that stays healthy after every refusal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use compose_model::Code;
use compose_model::plan::{self, Capability, Plan};
use compose_runtime::{HostPolicy, Runtime};

/// The example guests, built once for all tests into the shared `target/guests`.
fn guests() -> &'static BTreeMap<String, PathBuf> {
    static GUESTS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    GUESTS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        compose_build::build_guests(
            &root.join("examples/guests/Cargo.toml"),
            &["greeter", "app", "formatter", "probe"],
            &root.join("target/guests"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A plan whose `path` sources name the built guests.
fn plan(text: &str) -> Plan {
    let mut text = text.to_owned();
    for (name, path) in guests() {
        text = text.replace(
            &format!("\"{{{name}}}\""),
            &format!("{:?}", path.display().to_string()),
        );
    }
    plan::from_toml(&text).unwrap_or_else(|d| panic!("{}", plan::render("test", Some(&text), &d)))
}

fn emit(p: &Plan) -> Vec<u8> {
    compose_build::emit_plan(p, Path::new("."), &compose_build::EmitOptions::default())
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .bytes
}

const HELLO: &str = r#"
[components.greeter]
path = "{greeter}"
exports = ["example:greet/greeter"]
[components.app]
path = "{app}"
exports = ["wasi:cli/run"]
imports = { "example:greet/greeter" = "greeter" }
capabilities = { stdio = "required", args = "required" }
[exports]
"wasi:cli/run" = "app"
[grants]
stdio = true
args = true
"#;

/// A plan around the probe, with extra TOML appended.
fn probe(extra_caps: &str, extra: &str) -> (Plan, Vec<u8>) {
    let p = plan(&format!(
        r#"
[components.probe]
path = "{{probe}}"
exports = ["wasi:cli/run"]
capabilities = {{ stdio = "required", args = "required"{extra_caps} }}
[exports]
"wasi:cli/run" = "probe"
{extra}
"#
    ));
    let bytes = std::fs::read(&guests()["probe"]).unwrap();
    (p, bytes)
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn compositions_run_and_exit_codes_propagate() {
    let p = plan(HELLO);
    let component = emit(&p);
    let rt = Runtime::new(&p.policy).unwrap();
    assert_eq!(
        rt.run(&p, &component, &args(&["World"]), &HostPolicy::default())
            .unwrap(),
        0
    );
    let (pp, probe) = probe("", "[grants]\nstdio = true\nargs = true\n");
    assert_eq!(
        rt.run(
            &pp,
            &probe,
            &args(&["no-such-probe"]),
            &HostPolicy::default()
        )
        .unwrap(),
        1
    );
}

#[test]
fn files_env_and_sockets_are_denied_unless_granted() {
    let grants = "[grants]\nstdio = true\nargs = true\n";
    let (p, probe_bytes) = probe("", grants);
    let rt = Runtime::new(&p.policy).unwrap();
    let host = HostPolicy::default();
    let run = |p: &Plan, a: &[&str]| rt.run(p, &probe_bytes, &args(a), &host).unwrap();
    assert_eq!(
        run(&p, &["read-file", "/etc/hostname"]),
        1,
        "a file outside any preopen was read"
    );
    assert_eq!(
        run(&p, &["read-file", "Cargo.toml"]),
        1,
        "a relative file was read"
    );
    assert_eq!(
        run(&p, &["env", "HOME"]),
        1,
        "an environment variable leaked"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    assert_eq!(run(&p, &["tcp", &addr]), 1, "a TCP connection was opened");

    // The same probes succeed once granted, so the refusals above are the policy's doing.
    let (env_plan, _) = probe(", env = [\"HOME\"]", &format!("{grants}env = [\"HOME\"]\n"));
    assert_eq!(run(&env_plan, &["env", "HOME"]), 0);
    let (net_plan, _) = probe(
        &format!(", network = [\"{addr}\"]"),
        &format!("{grants}network = [\"{addr}\"]\n"),
    );
    assert_eq!(run(&net_plan, &["tcp", &addr]), 0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), b"hello").unwrap();
    let (dir_plan, _) = probe(
        ", dirs = [\"/data\"]",
        &format!(
            "{grants}dirs = [{{ host = {:?}, guest = \"/data\" }}]\n",
            dir.path().display().to_string()
        ),
    );
    assert_eq!(run(&dir_plan, &["read-file", "/data/data.txt"]), 0);
    assert_eq!(run(&dir_plan, &["read-file", "/etc/hostname"]), 1);
}

#[test]
fn a_required_capability_the_host_refuses_stops_the_run_before_instantiation() {
    let p = plan(HELLO);
    let component = emit(&p);
    let rt = Runtime::new(&p.policy).unwrap();
    let err = rt
        .run(
            &p,
            &component,
            &[],
            &HostPolicy::default().refuse(Capability::Stdio),
        )
        .unwrap_err();
    assert_eq!(err.code, Code::ExecCapabilityRefused);
    assert!(
        err.message.contains("`app` requires `stdio`"),
        "{}",
        err.message
    );
    // An optional capability is simply left out.
    let (p, probe_bytes) = probe(
        ", clocks = \"optional\"",
        "[grants]\nstdio = true\nargs = true\nclocks = true\n",
    );
    assert_eq!(
        rt.run(
            &p,
            &probe_bytes,
            &args(&["clock"]),
            &HostPolicy::default().refuse(Capability::Clocks)
        )
        .unwrap(),
        0
    );
}

#[test]
fn limits_stop_runaway_guests_and_the_host_stays_healthy() {
    let grants = "[grants]\nstdio = true\nargs = true\n";
    let host = HostPolicy::default();
    let (p, bytes) = probe(
        "",
        &format!("{grants}[policy]\nmemory = 16777216\ntimeout-ms = 2000\n"),
    );
    let rt = Runtime::new(&p.policy).unwrap();
    let err = rt.run(&p, &bytes, &args(&["alloc"]), &host).unwrap_err();
    assert_eq!(err.code, Code::ExecLimit, "{}", err.message);
    assert!(
        err.message.contains("memory limit of 16777216 bytes"),
        "{}",
        err.message
    );

    let (p, _) = probe("", &format!("{grants}[policy]\ntimeout-ms = 300\n"));
    // Compile ahead (into a cache) so the time measured is the run's, not the compiler's.
    let cache = tempfile::tempdir().unwrap();
    let rt = Runtime::new(&p.policy)
        .unwrap()
        .with_cache(compose_model::blobs::BlobStore::new(cache.path()));
    rt.compile(&bytes).unwrap();
    let start = std::time::Instant::now();
    let err = rt.run(&p, &bytes, &args(&["loop"]), &host).unwrap_err();
    assert_eq!(err.code, Code::ExecTimeout, "{}", err.message);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));

    let (p, _) = probe("", &format!("{grants}[policy]\nfuel = 5000000\n"));
    let rt_fuel = Runtime::new(&p.policy).unwrap();
    let err = rt_fuel
        .run(&p, &bytes, &args(&["loop"]), &host)
        .unwrap_err();
    assert_eq!(err.code, Code::ExecFuel, "{}", err.message);

    let (p, _) = probe("", grants);
    let rt = Runtime::new(&p.policy).unwrap();
    let err = rt.run(&p, &bytes, &args(&["recurse"]), &host).unwrap_err();
    assert_eq!(err.code, Code::ExecStackOverflow, "{}", err.message);

    // After all that, the same runtime still runs a composition.
    let hello = plan(HELLO);
    assert_eq!(
        rt.run(&hello, &emit(&hello), &args(&["again"]), &host)
            .unwrap(),
        0
    );
}

#[test]
fn compiled_code_is_cached_and_a_corrupt_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let store = compose_model::blobs::BlobStore::new(dir.path());
    let p = plan(HELLO);
    let component = emit(&p);
    let rt = Runtime::new(&p.policy).unwrap().with_cache(store.clone());
    assert!(
        !rt.compile(&component).unwrap().1,
        "first compile came from the cache"
    );
    assert!(
        rt.compile(&component).unwrap().1,
        "second compile did not use the cache"
    );
    // Corrupt every stored blob: the next compile must not load it.
    for entry in std::fs::read_dir(dir.path().join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    assert!(
        !rt.compile(&component).unwrap().1,
        "a corrupt cache entry was loaded"
    );
    assert_eq!(
        rt.run(&p, &component, &[], &HostPolicy::default()).unwrap(),
        0
    );
}

#[test]
fn traps_unprovided_imports_and_non_components_are_errors_with_codes() {
    let (p, bytes) = probe("", "[grants]\nstdio = true\nargs = true\n");
    let rt = Runtime::new(&p.policy).unwrap();
    let err = rt
        .run(&p, &bytes, &args(&["panic"]), &HostPolicy::default())
        .unwrap_err();
    assert_eq!(err.code, Code::ExecTrap, "{}", err.message);
    // `app` alone imports a greeter nobody provides: refused before instantiation.
    let app = std::fs::read(&guests()["app"]).unwrap();
    let err = rt
        .run(&Plan::new(), &app, &[], &HostPolicy::default())
        .unwrap_err();
    assert_eq!(err.code, Code::ExecImportRefused);
    assert!(
        err.message.contains("example:greet/greeter"),
        "{}",
        err.message
    );
    let err = rt
        .run(
            &Plan::new(),
            b"\0asm\x0d\0\x01\0",
            &[],
            &HostPolicy::default(),
        )
        .unwrap_err();
    assert_eq!(err.code, Code::ExecInvalidComponent);
}

/// A component that imports `wasi:http/outgoing-handler` (built from WIT by wit-component): with
/// no `http` grant the run is refused before instantiation, naming the import.
#[test]
fn outgoing_http_is_refused_without_a_grant() {
    let component = compose_wit::testing::component_from_wit(
        &[
            (
                "http.wit",
                "package wasi:http@0.2.6;\ninterface outgoing-handler { handle: func(url: string) -> result<u16, string>; }\n",
            ),
            (
                "probe.wit",
                "package example:probe;\nworld http-probe {\n  import wasi:http/outgoing-handler@0.2.6;\n  export run: func();\n}\n",
            ),
        ],
        "http-probe",
    );
    let p = Plan::new();
    let rt = Runtime::new(&p.policy).unwrap();
    let err = rt
        .run(&p, &component, &[], &HostPolicy::default())
        .unwrap_err();
    assert_eq!(err.code, Code::ExecImportRefused, "{}", err.message);
    assert!(
        err.message.contains("wasi:http/outgoing-handler")
            && err.message.contains("grants no outgoing HTTP"),
        "{}",
        err.message
    );
}

/// An import the plan denies is linked to a stub that traps when called: the run fails with a
/// trap, never silently succeeds.
#[test]
fn a_denied_import_traps_when_called() {
    let p = plan(&HELLO.replace(
        "imports = { \"example:greet/greeter\" = \"greeter\" }",
        "imports = { \"example:greet/greeter\" = { deny = true } }",
    ));
    let component = emit(&p);
    let rt = Runtime::new(&p.policy).unwrap();
    let err = rt
        .run(&p, &component, &args(&["World"]), &HostPolicy::default())
        .unwrap_err();
    assert_eq!(err.code, Code::ExecTrap, "{}", err.message);
}
