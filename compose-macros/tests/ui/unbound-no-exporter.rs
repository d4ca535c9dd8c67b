// E0204: `user` imports an interface that no component of the plan exports.
compose_runtime::compose! {
    components: {
        user: { path: "../../ui-fixtures/user.wasm", exports: ["example:greet/app"] },
    },
    exports: { "example:greet/app": user },
}

fn main() {}
