//! The `bindgen!` for the project's own `std:*` WIT packages that the host implements.

wasmtime::component::bindgen!({
    path: "../wit/std-secrets",
    world: "std:secrets/secret-user",
    with: { "std:secrets/store.token": super::secrets_store::TokenHandle },
    imports: { default: trappable },
});
