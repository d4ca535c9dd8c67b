// E0104: a component needs a source (`path`, `crate`, `oci` or `blob`).
compose_runtime::compose! {
    components: {
        greeter: { exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
