compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/no-such.wasm", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
