// A file that is not a WebAssembly component.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../../../compose-macros/tests/ui/plans/good.toml", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
