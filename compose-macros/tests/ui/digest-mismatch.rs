compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            exports: ["example:greet/greeter"],
        },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
