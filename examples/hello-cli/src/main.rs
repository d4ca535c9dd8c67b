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

    /// Built alone (`cargo test-lean`), this CLI composition's compose-runtime has no server
    /// (its `serve` feature is off): serving is refused, coded, never attempted. (A plan that
    /// serves would not compile at all: see compose-build's codegen test.)
    #[test]
    fn a_build_without_the_server_refuses_to_serve() {
        if compose_runtime::SERVE {
            // Built with the workspace, where composectl turns `serve` on.
            return;
        }
        let err = Hello::EMBEDDED
            .serve("127.0.0.1:0".parse().unwrap())
            .expect_err("no server in this build");
        assert_eq!(err.code, Code::PlanNotImplemented, "{err}");
        assert!(err.message.contains("`serve` feature"), "{err}");
    }

    /// On x86-64 Linux the precompiled code runs where it lies in the binary (page-aligned by
    /// the macro), not from a copy, for the process's first load of it (Wasmtime registers code
    /// by address, so two components alive at once cannot share it); other loads copy it, and
    /// so does the same code given without its pages (here a heap copy). All of them run.
    #[test]
    fn the_precompiled_code_runs_in_place_once() {
        let loads: Vec<_> = (0..3).map(|_| Hello::load().unwrap()).collect();
        let in_place = loads.iter().filter(|c| c.code_in_place()).count();
        // Other tests in this process may have made the first load already.
        assert!(in_place <= 1, "{in_place} loads share the code in place");
        for (i, c) in loads.iter().enumerate() {
            assert!(c.from_precompiled());
            assert_eq!(c.run(&[format!("load {i}")]).unwrap(), 0);
        }

        let mut copied = Hello::EMBEDDED;
        let mut code = copied
            .precompiled
            .expect("the macro precompiles by default");
        code.code = Box::leak(code.code.to_vec().into_boxed_slice());
        copied.precompiled = Some(code);
        let copied = copied.load().unwrap();
        assert!(copied.from_precompiled() && !copied.code_in_place());
        assert_eq!(copied.run(&["copied"]).unwrap(), 0);
    }

    /// Built alone (as a user's crate is: `cargo test-lean`), this binary has no compiler: it
    /// runs the code precompiled into it and refuses, coded, whatever would need compiling.
    /// Built with the workspace (where composectl turns compose-runtime's `jit` on), it
    /// compiles instead. Either way the precompiled code is what a plain load uses.
    #[test]
    fn without_a_compiler_only_fitting_precompiled_code_runs() {
        let plain = Hello::load().unwrap();
        assert!(plain.from_precompiled());
        assert_eq!(plain.run(&["precompiled"]).unwrap(), 0);

        let off = Hello::builder().precompiled(false).load();
        // Code recorded for another engine and CPU than this build's.
        let mut other = Hello::EMBEDDED;
        let mut code = other.precompiled.expect("the macro precompiles by default");
        // (A target no machine of this project's CI is: a mainframe's.)
        code.compatibility = "wasmtime=49.0.0 target=s390x-unknown-linux-gnu cpu=baseline fuel=off";
        other.precompiled = Some(code);
        let unfit = other.builder().load();
        if compose_runtime::JIT {
            assert!(!off.unwrap().from_precompiled());
            assert!(!unfit.unwrap().from_precompiled());
            return;
        }
        let err = off
            .err()
            .expect("no compiler: turning the code off cannot compile");
        assert_eq!(err.code, Code::ExecNoCompiler, "{err}");
        assert!(err.message.contains("precompiled(false)"), "{err}");
        assert!(err.message.contains("`jit` feature"), "{err}");
        let err = unfit
            .err()
            .expect("no compiler: unfit code cannot be replaced");
        assert_eq!(err.code, Code::ExecPrecompiledUnfit, "{err}");
        assert!(
            err.message.contains("wasmtime is `49.0.0` in the code"),
            "{err}"
        );
        assert!(
            err.message.contains("target is `s390x-unknown-linux-gnu`"),
            "{err}"
        );
        assert!(err.message.contains("Rebuild the binary"), "{err}");
    }
}
