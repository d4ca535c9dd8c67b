// E0103: `exports` is a list of interface names, not a string.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: "example:greet/greeter" },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
