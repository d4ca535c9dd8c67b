//! Precompiling a composed component for the runtime, so a binary can embed machine code and
//! skip compilation at start.
//!
//! The code is only usable by an engine with the very configuration it was compiled with, so
//! the configuration comes from `compose-engine`, which the runtime uses too. (This crate does
//! not depend on compose-runtime, so a build script never links the WASI host.)

use compose_model::Digest;
use compose_model::blobs::BlobStore;
use compose_model::plan::Policy;
use wasmtime::Engine;

use crate::PrecompileError;

pub use compose_engine::{compatibility, engine_config};

/// Precompiled code and the compatibility digest of the engine that made it.
#[derive(Clone, Debug)]
pub struct Code {
    /// The serialized code.
    pub bytes: Vec<u8>,
    /// [`compatibility`] of the engine that compiled it.
    pub compatibility: Digest,
}

/// Precompiles `component` for the runtime's engine under `policy`, reusing code cached in
/// `cache` under H(component digest ‖ compatibility ‖ "precompile:v1").
pub fn precompile(
    component: &[u8],
    policy: &Policy,
    cache: Option<&BlobStore>,
) -> Result<Code, PrecompileError> {
    let engine = Engine::new(&engine_config(policy))
        .map_err(|e| PrecompileError::Configure(format!("{e:#}")))?;
    let compat = compatibility(&engine);
    let mut material = Digest::of(component).as_bytes().to_vec();
    material.extend_from_slice(compat.as_bytes());
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
        .map_err(|e| PrecompileError::Compile(format!("{e:#}")))?;
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
