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
            capabilities: { stdout: required, stderr: required, args: required },
        },
    },
    exports: { "wasi:cli/run": app },
    grants: { stdout: true, stderr: true, args: true },
}

#[cfg(not(feature = "bench-without-compose"))]
fn main() -> std::process::ExitCode {
    Hello::main()
}

#[cfg(feature = "bench-without-compose")]
fn main() {
    println!("Hello, World!");
}

#[cfg(all(test, not(feature = "bench-without-compose")))]
mod tests {
    use compose_runtime::compose_model::Code;
    use compose_runtime::compose_model::plan::Capability;

    use super::Hello;

    #[test]
    fn the_builder_refuses_what_the_host_will_not_give() {
        // `app` requires `args`: a host that refuses them stops the load, before anything runs.
        let err = Hello::builder()
            .refuse(Capability::Args)
            .load()
            .err()
            .expect("refusing a required capability stops the load");
        assert_eq!(err.code, Code::ExecCapabilityRefused, "{err}");
        assert!(err.message.contains("args"), "{err}");
        // Refusing what the plan does not use changes nothing.
        let composition = Hello::builder().refuse(Capability::Env).load().unwrap();
        assert_eq!(composition.run(&["builder"]).unwrap(), 0);
    }
}
