//! `cargo run -p hello-cli -- World` prints `Hello, World!`.
//!
//! The plan below is checked, its guest crates (`examples/guests`) built for `wasm32-wasip2`,
//! composed and precompiled at compile time; the binary embeds the result and needs no file at
//! run time.

#[cfg(not(feature = "bench-without-compose"))]
compose_runtime::compose! {
    name: "hello",
    workspace: "../guests",
    components: {
        greeter: { crate: "greeter", exports: ["example:greet/greeter"] },
        app: {
            crate: "app",
            exports: ["wasi:cli/run"],
            imports: { "example:greet/greeter": greeter },
            capabilities: { stdio: required, args: required },
        },
    },
    exports: { "wasi:cli/run": app },
    grants: { stdio: true, args: true },
}

#[cfg(not(feature = "bench-without-compose"))]
fn main() -> std::process::ExitCode {
    Hello::main()
}

#[cfg(feature = "bench-without-compose")]
fn main() {
    println!("Hello, World!");
}
