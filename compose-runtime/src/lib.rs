//! Runs composed components on Wasmtime, deny-by-default: nothing reaches a component unless
//! the plan requests and grants it and the host policy allows it; limits come from the plan.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = compose_model::plan::from_toml(&std::fs::read_to_string("compose.toml")?).unwrap();
//! let component = std::fs::read("composed.wasm")?;
//! let runtime = compose_runtime::Runtime::new(&plan.policy)?;
//! let exit = runtime.run(&plan, &component, &["World".into()], &compose_runtime::HostPolicy::default())?;
//! std::process::exit(exit.into());
//! # }
//! ```
//!
//! Compiling a component at run time, as above, needs the `jit` feature (Wasmtime's
//! compiler); without it [`Runtime::compile`] and [`Runtime::run`] refuse with `E0512`, and a
//! binary runs only the code `compose!` or compose-build precompiled into it ([`JIT`] says
//! which build this is). `signatures` adds [`Builder::require_signature`] (the Sigstore
//! verifier), `attest` the host's side of `std:attest` (`HostPolicy::attestation_key`),
//! `audit` the audit log and `std:audit`, `serve` the HTTP server (`wasi:http`), `vault` and
//! `pkcs11` the secret backends `secrets::VaultBackend` and `secrets::Pkcs11Backend`. A
//! CLI composition needs none of them; `macros` (on by default) re-exports `compose!`.
#![deny(missing_docs)]

pub mod audit;
mod code_memory;
mod composition;
mod embedded;
mod engine;
mod error;
mod host;
mod limits;
mod policy;
mod recorded;
mod run;
pub mod secrets;
#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "signatures")]
mod signed;

/// The audit log's records, keys and checkpoints (`compose-audit`), for hosts that open an
/// [`audit::AuditLog`].
#[cfg(feature = "audit")]
pub use compose_audit;
/// Re-exported for generated code and hosts: the plan model and digests.
pub use compose_model;
/// Signatures (`compose-trust`): keys and bundles for `Builder::require_signature`, and the
/// keys and evidence format of `HostPolicy::attestation_key`.
#[cfg(any(feature = "signatures", feature = "attest"))]
pub use compose_trust as trust;
#[cfg(feature = "serve")]
pub use composition::Server;
pub use composition::{Composition, Instantiated};
pub use embedded::{Builder, Embedded, PageAligned, Precompiled};
#[cfg(feature = "jit")]
pub use engine::compatibility;
pub use engine::{Runtime, engine_config, pooling_config};

/// Whether this build can compile components (compose-runtime's `jit` feature, which links
/// Wasmtime's compiler). Without it, only code precompiled into the binary runs: compiling
/// is refused with `E0512`, and embedded code that does not fit this host with `E0511`.
pub const JIT: bool = cfg!(feature = "jit");
/// Whether this build signs `std:attest` evidence (compose-runtime's `attest` feature). Without
/// it a plan that grants `attest` is refused (`E0214`).
pub const ATTEST: bool = cfg!(feature = "attest");
/// Whether this build writes audit logs (compose-runtime's `audit` feature). Without it a plan
/// that names an audit log or grants `audit` is refused (`E0214`).
pub const AUDIT: bool = cfg!(feature = "audit");
/// Whether this build serves `wasi:http` compositions (compose-runtime's `serve` feature:
/// hyper, tokio's multi-threaded runtime, wasmtime-wasi-http). Without it
/// [`Embedded::serve`] refuses (`E0214`) and `Composition::serve`, `serve_with` and the
/// rest of the server API do not exist.
pub const SERVE: bool = cfg!(feature = "serve");
/// Re-exported for generated code and hosts that add their own imports.
pub use wasmtime;

/// Composes at compile time; see the `compose-macros` crate for the grammar.
#[cfg(feature = "macros")]
pub use compose_macros::compose;

/// Includes the composition a `build.rs` made with `compose_build::compile` (or
/// `compose_build::Config`): `include_composed!("hello")` defines the type the build generated
/// for the plan named `hello` (written to `OUT_DIR/compose/hello.rs`).
#[macro_export]
macro_rules! include_composed {
    ($name:literal) => {
        include!(concat!(env!("OUT_DIR"), "/compose/", $name, ".rs"));
    };
}
pub use error::ExecError;
pub use host::HostState;
pub use policy::{Effective, HostPolicy};
pub use recorded::recorded_plan;
#[cfg(feature = "serve")]
pub use serve::{
    ServeOptions, ShutdownHandle, ShutdownSignal, serve_async, serve_with, shutdown_channel,
};
