compose_runtime::compose! {
    workspace: "../../../../compose-macros/tests/ui/broken-guest",
    components: {
        greeter: { crate: "greeterr", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
