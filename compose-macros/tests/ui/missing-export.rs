compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/farewell"] },
    },
    exports: { "example:greet/farewell": greeter },
}

fn main() {}
