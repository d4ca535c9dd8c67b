// E0105: `path` and `crate` exclude each other.
compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            crate: "greeter",
            exports: ["example:greet/greeter"],
        },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
