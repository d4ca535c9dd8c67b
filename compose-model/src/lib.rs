//! The shared model of the compositional WebAssembly system: composition plans, the canonical
//! CBOR profile they are stored in, content digests and the table of error codes.
//!
//! Both the build side (the `compose!` macro, `compose-build`) and the runtime depend on this
//! crate, so it links neither Wasmtime nor the WIT toolchain.
#![deny(missing_docs)]

pub mod blobs;
pub mod cbor;
pub mod codes;
pub mod digest;
pub mod host;

pub use codes::Code;
pub use digest::{Digest, Hashed};
pub mod plan;
