// `user` needs a greeter; `greeter` exports one, but nothing wires it.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
        user: { path: "../../ui-fixtures/user.wasm", exports: ["example:greet/app"] },
    },
    exports: { "example:greet/app": user, "example:greet/greeter": greeter },
}

fn main() {}
