//! `cargo run -p hello-http -- 127.0.0.1:8080`, then `curl http://127.0.0.1:8080/hello/World`
//! prints `Hello, World!`. The router component (a `wasi:http` incoming handler) asks the
//! greeter component for the greeting; each request gets a fresh instance.

compose_runtime::compose! {
    name: "hello-http",
    workspace: "../guests",
    components: {
        greeter: { crate: "greeter", exports: ["example:greet/greeter"] },
        router: {
            crate: "http-router",
            exports: ["wasi:http/incoming-handler"],
            imports: { "example:greet/greeter": greeter },
        },
    },
    exports: { "wasi:http/incoming-handler": router },
    policy: { memory: 16777216, timeout-ms: 1000, concurrency: 256 },
}

fn main() -> std::process::ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let Ok(addr) = addr.parse() else {
        eprintln!("error: `{addr}` is not an address like 127.0.0.1:8080");
        return std::process::ExitCode::from(2);
    };
    match HelloHttp::serve(addr) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
