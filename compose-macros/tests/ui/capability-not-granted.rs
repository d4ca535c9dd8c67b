compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            exports: ["example:greet/greeter"],
            capabilities: { stdio: required, network: ["127.0.0.1:8080"] },
        },
    },
    exports: { "example:greet/greeter": greeter },
    grants: { stdio: true },
}

fn main() {}
