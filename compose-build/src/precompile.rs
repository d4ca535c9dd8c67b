//! Precompiling a composed component for the runtime, so a binary can embed machine code and
//! skip compilation at start.
//!
//! The code is only usable by an engine with the very configuration it was compiled with, so
//! [`engine_config`] must stay equal to `compose_runtime::engine_config`; a test in
//! compose-runtime compares their compatibility hashes for several policies. (This crate does
//! not depend on compose-runtime, so a build script never links the WASI host.)

use std::hash::{Hash, Hasher};

use compose_model::Digest;
use compose_model::blobs::BlobStore;
use compose_model::plan::Policy;
use wasmtime::{Config, Engine};

/// The Wasmtime configuration the runtime uses for `policy` (see the module docs).
pub fn engine_config(policy: &Policy) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(policy.fuel.is_some());
    config
}

/// Precompiled code and the compatibility summary of the engine that made it.
#[derive(Clone, Debug)]
pub struct Code {
    /// The serialized code.
    pub bytes: Vec<u8>,
    /// [`compatibility`] of the engine that compiled it.
    pub compatibility: u64,
}

/// A 64-bit summary of `Engine::precompile_compatibility_hash` (the same summary the runtime
/// computes).
pub fn compatibility(engine: &Engine) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

/// Precompiles `component` for the runtime's engine under `policy`, reusing code cached in
/// `cache` under H(component digest ‖ compatibility ‖ "precompile:v1").
pub fn precompile(
    component: &[u8],
    policy: &Policy,
    cache: Option<&BlobStore>,
) -> Result<Code, String> {
    let engine = Engine::new(&engine_config(policy))
        .map_err(|e| format!("cannot configure Wasmtime: {e:#}"))?;
    let compat = compatibility(&engine);
    let mut material = Digest::of(component).as_bytes().to_vec();
    material.extend_from_slice(&compat.to_le_bytes());
    material.extend_from_slice(b"precompile:v1");
    let key = Digest::of(&material);
    if let Some((_, bytes)) = cache.and_then(|c| c.get_key("precompile", &key)) {
        return Ok(Code {
            bytes,
            compatibility: compat,
        });
    }
    let bytes = engine
        .precompile_component(component)
        .map_err(|e| format!("Wasmtime cannot compile the composed component: {e:#}"))?;
    if let Some(c) = cache
        && let Ok(d) = c.put(&bytes)
    {
        let _ = c.set_key("precompile", &key, &d);
    }
    Ok(Code {
        bytes,
        compatibility: compat,
    })
}
