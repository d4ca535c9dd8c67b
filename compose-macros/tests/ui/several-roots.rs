// E0406: the composition's exports come from two components; wasm-compose exports one's.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: { "example:greet/greeter": greeter },
        },
    },
    exports: { "example:greet/app": user, "example:greet/greeter": greeter },
}

fn main() {}
