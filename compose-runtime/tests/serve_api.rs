//! The library's serving API: `serve_async` runs on the caller's async runtime and stops on its
//! shutdown handle, installing no signal handlers; the blocking `serve_with` refuses to block
//! a thread that runs an async runtime (`E0510`) instead of panicking.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use compose_model::Code;
use compose_model::plan;
use compose_runtime::{HostPolicy, ServeOptions, serve_async, serve_with, shutdown_channel};

/// The router → greeter HTTP composition, emitted from the built example guests.
fn http() -> (plan::Plan, Vec<u8>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = compose_build::build_guests(
        &root.join("examples/guests/Cargo.toml"),
        &["greeter", "http-router"],
        &root.join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.router]\npath = {:?}\nexports = [\"wasi:http/incoming-handler\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\n[exports]\n\"wasi:http/incoming-handler\" = \"router\"\n[policy]\nconcurrency = 8\n",
        built["greeter"].display().to_string(),
        built["http-router"].display().to_string(),
    );
    let p = plan::from_toml(&text).unwrap();
    let bytes = compose_build::emit_plan(&p, Path::new("."), &Default::default())
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .bytes;
    (p, bytes)
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nhost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_async_runs_on_the_callers_runtime_and_stops_on_its_handle() {
    let (p, component) = http();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (handle, signal) = shutdown_channel();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (plan2, component2) = (p.clone(), component.clone());
        let server = tokio::spawn(async move {
            serve_async(
                &p,
                &component,
                &HostPolicy::default(),
                &ServeOptions::new("127.0.0.1:0".parse().unwrap()),
                move |addr| {
                    let _ = tx.send(addr);
                },
                signal,
            )
            .await
        });
        let addr = rx.await.expect("the server starts");
        let response = tokio::task::spawn_blocking(move || get(addr, "/hello/World"))
            .await
            .unwrap();
        assert!(response.contains("Hello, World!"), "{response}");
        // Blocking inside the runtime is refused, not a panic.
        let (_h, other) = shutdown_channel();
        let refused = serve_with(
            &plan2,
            &component2,
            &HostPolicy::default(),
            &ServeOptions::new("127.0.0.1:0".parse().unwrap()),
            |_| panic!("a blocking server started inside an async runtime"),
            other,
        )
        .unwrap_err();
        assert_eq!(refused.code, Code::ExecHostIo, "{refused}");
        handle.shutdown();
        server.await.unwrap().unwrap();
    });
}

/// A `Composition` (as the CLI makes one from a plan and a component) serves on a thread of
/// its own and shuts down through its `Server`.
#[test]
fn a_composition_serves_and_shuts_down() {
    let (p, component) = http();
    let runtime = compose_runtime::Runtime::new(&p.policy).unwrap();
    let composition =
        compose_runtime::Composition::new(runtime, &p, &component, HostPolicy::default()).unwrap();
    let server = composition
        .serve(&ServeOptions::new("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let response = get(server.addr(), "/hello/Server");
    assert!(response.contains("Hello, Server!"), "{response}");
    server.shutdown().unwrap();
    // One that cannot start says why, rather than returning a server.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let e = composition
        .serve(&ServeOptions::new(taken.local_addr().unwrap()))
        .err()
        .expect("the address is taken");
    assert_eq!(e.code, Code::ExecHostIo, "{e}");
}
