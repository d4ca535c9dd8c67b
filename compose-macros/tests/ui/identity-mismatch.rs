// The plan pins the canonical WIT identity of the export; the component's differs.
compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            exports: { "example:greet/greeter": { wit: "sha256:1111111111111111111111111111111111111111111111111111111111111111" } },
        },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
