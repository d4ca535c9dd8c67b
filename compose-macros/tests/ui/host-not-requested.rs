// E0211: an import bound to a host capability the component does not request.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: {
                "example:greet/greeter": greeter,
                "wasi:clocks/wall-clock": { host: clocks },
            },
        },
    },
    exports: { "example:greet/app": user },
}

fn main() {}
