compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            exports: ["example:greet/greeter"],
            capabilities: { stdoi: required },
        },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
