// E0107: a plan schema this build does not read.
compose_runtime::compose! {
    schema: 2,
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
