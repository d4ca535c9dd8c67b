// The guest crate has a type error: cargo's own output is part of the error.
compose_runtime::compose! {
    workspace: "../../../../compose-macros/tests/ui/broken-guest",
    components: {
        broken: { crate: "broken-guest", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": broken },
}

fn main() {}
