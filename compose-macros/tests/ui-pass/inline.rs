// An inline plan: the type exists, its embedded bytes match their digests, and it loads
// (from the precompiled code).
compose_runtime::compose! {
    name: "pair",
    components: {
        greeter: { path: "../../ui-fixtures/greeter.wasm", exports: ["example:greet/greeter"] },
        user: {
            path: "../../ui-fixtures/user.wasm",
            exports: ["example:greet/app"],
            imports: { "example:greet/greeter": greeter },
        },
    },
    exports: { "example:greet/app": user },
}

fn main() {
    assert!(Pair::PLAN_DIGEST.starts_with("sha256:"));
    let loaded = Pair::load().unwrap();
    assert!(loaded.from_precompiled());
    assert_eq!(loaded.plan().name.as_deref(), Some("pair"));
}
