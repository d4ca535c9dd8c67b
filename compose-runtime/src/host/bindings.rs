//! The `bindgen!` for the project's own `std:*` WIT packages that the host implements, and the
//! host types of their resources.

wasmtime::component::bindgen!({
    path: "../wit/std-secrets",
    world: "std:secrets/secret-user",
    with: { "std:secrets/store.token": TokenHandle },
    imports: { default: trappable },
});

/// A `std:secrets/store.token` a guest opened: only its name; the value stays with the backend.
pub struct TokenHandle {
    pub(super) name: String,
}

/// `std:attest`, in a module of its own (each `bindgen!` makes a `std` module).
#[cfg(feature = "attest")]
pub(super) mod attest {
    wasmtime::component::bindgen!({
        path: "../wit/std-attest",
        world: "std:attest/attested",
    });
}

/// `std:audit`, in a module of its own; its import can trap (a required log that failed stops
/// the run).
#[cfg(feature = "audit")]
pub(super) mod audit {
    wasmtime::component::bindgen!({
        path: "../wit/std-audit",
        world: "std:audit/audited",
        imports: { default: trappable },
    });
}
