//! Build-time composition: resolves the components a plan names, checks them against the plan,
//! composes them into one component with wasm-compose, and caches the result by content.
//!
//! In a build script:
//!
//! ```no_run
//! // build.rs: compose `compose.toml`; `include_composed!("hello")` then defines the type.
//! fn main() {
//!     compose_build::Config::new()
//!         .workspace("../guests") // where `crate = "…"` components come from
//!         .compile("compose.toml");
//! }
//! ```
//!
//! Or directly:
//!
//! ```no_run
//! let options = compose_build::EmitOptions::default();
//! let emitted = compose_build::emit(std::path::Path::new("compose.toml"), &options)
//!     .map_err(|e| e.render())
//!     .unwrap();
//! std::fs::write("composed.wasm", &emitted.bytes).unwrap();
//! ```
//!
//! Or, writing the output while it is validated ([`emit_prepared`]; it appears when committed):
//!
//! ```no_run
//! let options = compose_build::EmitOptions::default();
//! let (emitted, prepared) = compose_build::emit_prepared(
//!     std::path::Path::new("compose.toml"),
//!     &options,
//!     std::path::Path::new("composed.wasm"),
//! )
//! .map_err(|e| e.render())
//! .unwrap();
//! prepared.and_then(|p| p.commit()).unwrap();
//! # let _ = emitted;
//! ```
#![deny(missing_docs)]
// The examples are build scripts, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

mod beside;
mod bundle;
mod checks;
pub mod codegen;
mod compose;
mod config;
mod emit;
mod error;
mod guest;
mod host_wit;
mod options;
mod plan_file;
#[cfg(feature = "precompile")]
pub mod precompile;
pub mod provenance;
mod source;
mod surface;
mod trust;
pub mod typed;
mod validate;

pub use bundle::Bundle;
pub use compose_model::blobs::BlobStore;
pub use config::{CompileError, Compiled, Config, compile};
pub use emit::{Emitted, emit, emit_plan, emit_prepared};
pub use error::{EmitError, GuestBuildError, PrecompileError};
pub use guest::build_guests;
pub use options::EmitOptions;
