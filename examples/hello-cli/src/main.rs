//! `cargo run -p hello-cli -- World` prints `Hello, World!`.
//!
//! The plan below is checked, its guest crates (`examples/guests`) built for `wasm32-wasip2`,
//! composed and precompiled at compile time; the binary embeds the result and needs no file at
//! run time.

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

fn main() -> std::process::ExitCode {
    Hello::main()
}
