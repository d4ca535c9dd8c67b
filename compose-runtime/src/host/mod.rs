//! The host side of a composition, in the shape of wasmtime-wasi's `p2/`: one state for every
//! store ([`HostState`]), one store setup and one linker builder shared by `exec run`,
//! `exec serve`, embedded binaries and typed calls, and one file per WIT interface the host
//! implements (`wasi` context, `wasi:io` waits bounded by the deadline, `wasi:http` outgoing
//! requests, `std:secrets/store`,
//! `std:secrets/operations`, `std:attest/attestation` with the `attest` feature, `std:audit/log`
//! with the `audit` feature), with the
//! `bindgen!` for the project's packages in `bindings.rs`.
//!
//! Adding a host interface: its `bindgen!` in `bindings.rs`, a file here implementing it, its
//! state in [`HostState`], and a row in `linker.rs`'s `LINKED` (its capability and how it is
//! added to a linker); the package is already in `compose_model::host::HOST_PACKAGES`, and its
//! refusal leaves `compose_model::plan::UNIMPLEMENTED_CAPABILITIES`.

#[cfg(feature = "attest")]
mod attest;
#[cfg(feature = "audit")]
mod audit;
mod bindings;
mod http;
mod io;
mod linker;
mod secrets_operations;
mod secrets_store;
mod state;
mod wasi;
mod wasi_sync;

#[cfg(feature = "attest")]
pub(crate) use attest::Attestor;
pub(crate) use io::WaitPassed;
pub(crate) use linker::linker;
pub use state::HostState;
pub(crate) use state::{Known, Mode, Session};
