//! What only a build with Wasmtime's compiler can do: configure precompiling for an explicit
//! target and CPU baseline, and hash an engine's compatibility for caches of compiled code.

use std::hash::{Hash, Hasher};

use compose_model::Digest;
use compose_model::plan::Policy;
use wasmtime::{Config, Engine};

use crate::{Compatibility, cpu_baseline, engine_config};

/// The configuration for precompiling code for `target` (a Rust target triple, such as Cargo's
/// `TARGET`) under `policy`: [`engine_config`] plus that target and its CPU baseline
/// ([`cpu_baseline`]), never the build machine's CPU. Returns it with the record to embed
/// next to the code.
pub fn precompile_config(policy: &Policy, target: &str) -> Result<(Config, Compatibility), String> {
    let mut config = engine_config(policy);
    config
        .target(target)
        .map_err(|e| format!("cannot precompile for target `{target}`: {e:#}"))?;
    let record = Compatibility::for_target(policy, target);
    let arch = target.split('-').next().unwrap_or_default();
    let (preset, _) = cpu_baseline(arch);
    if preset != "baseline" {
        // SAFETY: `preset` is one of Cranelift's own presets for this architecture (see
        // `cpu_baseline`), which only turns on CPU features; code using them is loaded only on
        // a CPU that has them (checked by the runtime through the record, and by Wasmtime).
        #[allow(unsafe_code)]
        unsafe {
            config.cranelift_flag_enable(preset);
        }
    }
    Ok((config, record))
}

/// The SHA-256 of [`Engine::precompile_compatibility_hash`]: equal for engines that accept each
/// other's compiled code (same Wasmtime, same configuration, same target), and stable across
/// Rust releases, unlike `DefaultHasher`, whose output may change with the compiler. Keys the
/// caches of compiled code.
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

    #[test]
    fn precompiling_for_a_target_uses_its_baseline_not_this_cpu() {
        let (config, record) = precompile_config(&Policy::default(), crate::THIS_TARGET).unwrap();
        let engine = Engine::new(&config).unwrap();
        // The smallest component: the preamble (magic, version 0x0d, layer 1) and nothing else.
        let empty = b"\0asm\x0d\0\x01\0";
        let code = engine.precompile_component(empty).unwrap();
        // Code for the baseline loads into a runtime engine for this machine.
        let runtime = Engine::new(&engine_config(&Policy::default())).unwrap();
        #[allow(unsafe_code)]
        // SAFETY: `code` was just made by Wasmtime, with the same release and configuration.
        let loaded = unsafe { wasmtime::component::Component::deserialize(&runtime, &code) };
        assert!(loaded.is_ok(), "{:?}", loaded.err());
        assert_eq!(record, Compatibility::here(&Policy::default()));
        assert!(precompile_config(&Policy::default(), "no-such-target").is_err());
    }
}
