//! The one Wasmtime configuration that the build side (precompiling a composition into a
//! binary) and the runtime (loading that code, or compiling it) share, and a stable digest of an
//! engine's compatibility, recorded with precompiled code and compared before it is loaded.
//!
//! Compiled code is valid only for the configuration it was compiled with, so both sides call
//! [`engine_config`] here rather than each keeping a copy. This crate links Wasmtime and
//! nothing else of the host (no WASI), so a build script that precompiles stays lean.
#![deny(missing_docs)]

use std::hash::{Hash, Hasher};

use compose_model::Digest;
use compose_model::plan::Policy;
use wasmtime::{Config, Engine};

/// The Wasmtime configuration for a plan's policy: the component model, epoch interruption
/// (deadlines), and fuel only when the plan sets it (it slows every run).
pub fn engine_config(policy: &Policy) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(policy.fuel.is_some());
    config
}

/// The SHA-256 of [`Engine::precompile_compatibility_hash`]: equal for engines that accept each
/// other's compiled code (same Wasmtime, same configuration, same target), and stable across
/// Rust releases, unlike `DefaultHasher`, whose output may change with the compiler.
pub fn compatibility(engine: &Engine) -> Digest {
    let mut bytes = Collect(Vec::new());
    engine.precompile_compatibility_hash().hash(&mut bytes);
    Digest::of(&bytes.0)
}

/// A `Hasher` that keeps the bytes it is fed, so they can be hashed with SHA-256 (Wasmtime
/// offers its compatibility only as an `impl Hash`).
struct Collect(Vec<u8>);

impl Hasher for Collect {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        // Never used: `compatibility` hashes the collected bytes itself.
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_follows_the_configuration() {
        let plain = Engine::new(&engine_config(&Policy::default())).unwrap();
        let again = Engine::new(&engine_config(&Policy::default())).unwrap();
        assert_eq!(compatibility(&plain), compatibility(&again));
        let mut fueled = Policy::default();
        fueled.fuel = Some(1);
        let fueled = Engine::new(&engine_config(&fueled)).unwrap();
        assert_ne!(compatibility(&plain), compatibility(&fueled));
    }
}
