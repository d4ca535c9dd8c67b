//! The one Wasmtime configuration that the build side (precompiling a composition into a
//! binary) and the runtime (loading that code, or compiling it) share, and the record of what
//! precompiled code needs ([`Compatibility`]), embedded with it and compared before it is
//! loaded.
//!
//! Compiled code is valid only for the configuration it was compiled with, so both sides call
//! [`engine_config`] here rather than each keeping a copy. This crate links Wasmtime and
//! nothing else of the host (no WASI), so a build script that precompiles stays lean.
//!
//! Wasmtime's compiler (Cranelift) is linked only with the `jit` feature: the build side
//! (which precompiles) and runtimes that compile at load turn it on; a binary that only loads
//! code precompiled into it leaves it off and is several megabytes smaller.
#![deny(missing_docs)]

mod compat;

pub use compat::{
    Compatibility, THIS_TARGET, WASMTIME_VERSION, cpu_baseline, host_has, native_cpu,
};
use compose_model::plan::Policy;
use wasmtime::Config;

/// The Wasmtime configuration for a plan's policy: the component model, epoch interruption
/// (deadlines), and fuel only when the plan sets it (it slows every run).
pub fn engine_config(policy: &Policy) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(policy.fuel.is_some());
    config
}

#[cfg(feature = "jit")]
mod jit;
#[cfg(feature = "jit")]
pub use jit::{compatibility, precompile_config};
