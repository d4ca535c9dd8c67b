compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: { "example:greet/greeter": greeterr },
        },
    },
    exports: { "example:greet/app": user },
}

fn main() {}
