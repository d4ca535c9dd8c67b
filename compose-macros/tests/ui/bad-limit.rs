compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
    policy: { memory: 0, timeout-ms: -5 },
}

fn main() {}
