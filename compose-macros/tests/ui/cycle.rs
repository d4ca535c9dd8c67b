compose_runtime::compose! {
    components: {
        a: { path: "../../ui-fixtures/user.wasm", exports: ["example:greet/greeter"], imports: { "example:greet/greeter": b } },
        b: { path: "../../ui-fixtures/user.wasm", exports: ["example:greet/greeter"], imports: { "example:greet/greeter": a } },
    },
    exports: { "example:greet/greeter": a },
}

fn main() {}
