compose_runtime::compose! {
    path: "../../../../compose-macros/tests/ui/plans/good.toml",
    components: { greeter: { path: "../../ui-fixtures/greeter.wasm" } },
}

fn main() {}
