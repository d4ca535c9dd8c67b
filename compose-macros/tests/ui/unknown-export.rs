// E0203: the wire names a component that declares no such export.
compose_runtime::compose! {
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeting"] },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: { "example:greet/greeter": greeter },
        },
    },
    exports: { "example:greet/app": user },
}

fn main() {}
