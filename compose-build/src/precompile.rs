//! Precompiling a composed component for the runtime, so a binary can embed machine code and
//! skip compilation at start.
//!
//! The code is only usable by an engine with the very configuration it was compiled with, so
//! the configuration comes from `compose-engine`, which the runtime uses too. (This crate does
//! not depend on compose-runtime, so a build script never links the WASI host.) It is compiled
//! for an explicit target (Cargo's `TARGET` in a build script; the machine the macro runs on
//! otherwise) and that target's documented CPU baseline ([`compose_engine::cpu_baseline`]),
//! never for whatever CPU the build machine happens to have.

use compose_model::Digest;
use compose_model::blobs::BlobStore;
use compose_model::plan::Policy;
use wasmtime::Engine;

use crate::PrecompileError;

pub use compose_engine::{Compatibility, compatibility, engine_config};

/// Precompiled code and the record of what it needs to load.
#[derive(Clone, Debug)]
pub struct Code {
    /// The serialized code.
    pub bytes: Vec<u8>,
    /// The engine and machine it was made for ([`Compatibility::line`]), embedded next to it.
    pub compatibility: Compatibility,
}

/// Precompiles `component` for the machine this runs on (`compose_engine::THIS_TARGET`)
/// under `policy`; see [`precompile_for`]. (A build script precompiles for Cargo's `TARGET`,
/// the macro for the machine it runs on: Cargo does not tell a proc macro the target, so
/// cross-compiling a `compose!` crate needs a build script.)
pub fn precompile(
    component: &[u8],
    policy: &Policy,
    cache: Option<&BlobStore>,
) -> Result<Code, PrecompileError> {
    precompile_for(component, policy, compose_engine::THIS_TARGET, cache)
}

/// [`precompile`] for an explicit target triple, reusing code cached in `cache` under
/// H(component digest ‖ compatibility hash ‖ "precompile:v2").
pub fn precompile_for(
    component: &[u8],
    policy: &Policy,
    target: &str,
    cache: Option<&BlobStore>,
) -> Result<Code, PrecompileError> {
    let (config, record) =
        compose_engine::precompile_config(policy, target).map_err(PrecompileError::Configure)?;
    let engine = Engine::new(&config).map_err(|e| PrecompileError::Configure(format!("{e:#}")))?;
    let mut material = Digest::of(component).as_bytes().to_vec();
    material.extend_from_slice(compatibility(&engine).as_bytes());
    material.extend_from_slice(b"precompile:v2");
    let key = Digest::of(&material);
    if let Some((_, bytes)) = cache.and_then(|c| c.get_key("precompile", &key)) {
        return Ok(Code {
            bytes,
            compatibility: record,
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
        compatibility: record,
    })
}
