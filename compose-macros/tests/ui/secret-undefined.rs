compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            exports: ["example:greet/greeter"],
            capabilities: { secrets: ["api-key"] },
        },
    },
    exports: { "example:greet/greeter": greeter },
    secrets: { other-key: "env:OTHER_KEY" },
}

fn main() {}
