compose_runtime::compose! {
    type: Hello,
    type: Again,
    components: { greeter: { path: "../../ui-fixtures/greeter.wasm" } },
}

fn main() {}
