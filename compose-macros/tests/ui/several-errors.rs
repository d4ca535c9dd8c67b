// Errors are collected, not first-fail: all four are reported at once, and uses of the type
// give no follow-on errors.
compose_runtime::compose! {
    type: App,
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"], capabilities: { network: ["127.0.0.1:80"] } },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: { "example:greet/greeter": nobody },
        },
    },
    exports: { "example:greet/app": user },
    policy: { instances: 0, determinism: sometimes },
}

fn main() -> std::process::ExitCode {
    App::main()
}
