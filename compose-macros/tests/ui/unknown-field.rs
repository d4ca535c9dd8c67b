compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exprts: ["example:greet/greeter"] },
    },
}

fn main() {}
