// E0212: a signature is required, but no signer would be accepted.
compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            exports: ["example:greet/greeter"],
            trust: { require-signature: true },
        },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
