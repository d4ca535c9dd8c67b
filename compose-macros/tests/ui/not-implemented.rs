// E0214: the plan asks for what this host does not implement (a tenant, metrics), so the
// macro refuses it rather than building a binary that would ignore it.
compose_runtime::compose! {
    components: {
        greeter: {
            path: "../../ui-fixtures/greeter.wasm",
            exports: ["example:greet/greeter"],
        },
    },
    exports: { "example:greet/greeter": greeter },
    policy: { tenant: "acme" },
    observability: { metrics: true },
}

fn main() {}
