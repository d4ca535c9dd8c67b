compose_runtime::compose! {
    workspace: "../no-such-workspace",
    components: {
        greeter: { crate: "greeter", exports: ["example:greet/greeter"] },
    },
    exports: { "example:greet/greeter": greeter },
}

fn main() {}
