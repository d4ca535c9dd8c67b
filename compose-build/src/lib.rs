//! Build-time composition: resolves the components a plan names, checks them against the plan,
//! composes them into one component with wasm-compose, and caches the result by content.
//!
//! ```no_run
//! let options = compose_build::EmitOptions::default();
//! let emitted = compose_build::emit(std::path::Path::new("compose.toml"), &options)
//!     .map_err(|e| e.render())
//!     .unwrap();
//! std::fs::write("composed.wasm", &emitted.bytes).unwrap();
//! ```
#![deny(missing_docs)]

mod compose;
mod emit;
mod guest;
mod source;

pub use compose_model::blobs::BlobStore;
pub use emit::{EmitError, EmitOptions, Emitted, emit, emit_plan};
pub use guest::build_guests;
