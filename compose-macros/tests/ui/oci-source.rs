compose_runtime::compose! {
    components: {
        greeter: { oci: "oci://registry.invalid/greeter:1.0", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
