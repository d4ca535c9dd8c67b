// `greeter-v2`'s `greet` takes two parameters; `user` calls it with one.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter-v2.wasm", exports: ["example:greet/greeter"] },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: { "example:greet/greeter": greeter },
        },
    },
    exports: { "example:greet/app": user },
}

fn main() {}
