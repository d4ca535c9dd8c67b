//! The build step both front ends share (the `compose!` macro and a `build.rs` using
//! [`crate::Config`]): emit the plan's composition, precompile it, and write the outputs
//! under predictable names, touching a file only when its bytes change.

use std::path::{Path, PathBuf};

use compose_model::blobs::write_atomic;
use compose_model::plan::{Diagnostic, Plan};
use compose_model::{Code, Digest};

use crate::{EmitError, EmitOptions, Emitted, emit_plan};

/// How to build a bundle.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Emit options (guest workspace, guest target dir, cache).
    pub emit: EmitOptions,
    /// Where to write `plan.cbor`, `component.wasm` and `component.cwasm`.
    pub out_dir: PathBuf,
    /// Whether to precompile.
    pub precompile: bool,
    /// A private key to sign the composition with (and the provenance).
    pub sign_key: Option<PathBuf>,
    /// Write the build's provenance, naming the plan so (its file name).
    pub provenance: Option<String>,
    /// The target triple to precompile for (unused without the `precompile` feature).
    #[cfg_attr(not(feature = "precompile"), allow(dead_code))]
    pub target: String,
}

/// What a build made and where it wrote it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Bundle {
    /// The plan.
    pub plan: Plan,
    /// The composition.
    pub emitted: Emitted,
    /// The folder the outputs are in.
    pub dir: PathBuf,
    /// `plan.cbor`: the plan's canonical CBOR.
    pub plan_file: PathBuf,
    /// `component.wasm`: the composed component.
    pub component_file: PathBuf,
    /// `component.cwasm`, its digest and the line recording what it needs to load (the
    /// engine and CPU it was made for), when precompiled.
    pub precompiled: Option<(PathBuf, Digest, String)>,
    /// Signature bundles for the composed component, embedded as they are: made with the
    /// build's signing key, or found in the blob store under the component's digest. Not
    /// checked here: the application checks them at load against the keys it trusts.
    pub signatures: Vec<String>,
    /// `provenance.json` (or `provenance.sigstore.json`, signed) and its bytes, when asked
    /// for.
    pub provenance: Option<(PathBuf, Vec<u8>)>,
}

/// Emits, precompiles and writes a plan's bundle. Every problem is a diagnostic with a plan
/// path, so each front end can point at its own source.
pub(crate) fn build(plan: &Plan, base: &Path, settings: &Settings) -> Result<Bundle, EmitError> {
    let fail = |code: Code, message: String| EmitError {
        file: "plan".into(),
        source: None,
        diagnostics: vec![Diagnostic::new(code, "", message)],
    };
    // The signing key is opened first: a key that cannot sign stops the build before
    // anything is written.
    let signer = match &settings.sign_key {
        Some(k) => Some(compose_trust::SigningKey::read(k).map_err(|e| fail(e.code, e.message))?),
        None => None,
    };
    let emitted = emit_plan(plan, base, &settings.emit)?;
    let dir = &settings.out_dir;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, EmitError> {
        let path = dir.join(name);
        write_if_changed(&path, bytes).map_err(|e| {
            fail(
                Code::EmitWriteFailed,
                format!(
                    "cannot write `{}`: {e}; check that the folder is writable",
                    path.display()
                ),
            )
        })?;
        Ok(path)
    };
    let plan_file = write("plan.cbor", &plan.to_cbor())?;
    let component_file = write("component.wasm", &emitted.bytes)?;
    let precompiled = if settings.precompile {
        let code = precompile(&emitted.bytes, plan, settings)
            .map_err(|e| fail(e.code(), e.to_string()))?;
        let (bytes, compat) = code;
        let path = write("component.cwasm", &bytes)?;
        Some((path, Digest::of(&bytes), compat))
    } else {
        let _ = std::fs::remove_file(dir.join("component.cwasm"));
        None
    };
    let code_digest = precompiled.as_ref().map(|(_, d, _)| *d);
    let signatures = signatures(&emitted, code_digest.as_ref(), signer.as_ref(), settings)
        .map_err(|e| fail(e.code, e.message))?;
    let provenance = match &settings.provenance {
        Some(plan_name) => {
            let (name, bytes) = provenance(&emitted, plan_name, signer.as_ref())
                .map_err(|e| fail(e.code, e.message))?;
            // The other form, left from an earlier build, would describe another build.
            let other = if name == PROVENANCE_SIGNED {
                PROVENANCE_PLAIN
            } else {
                PROVENANCE_SIGNED
            };
            let _ = std::fs::remove_file(dir.join(other));
            Some((write(name, &bytes)?, bytes))
        }
        None => {
            for f in [PROVENANCE_PLAIN, PROVENANCE_SIGNED] {
                let _ = std::fs::remove_file(dir.join(f));
            }
            None
        }
    };
    Ok(Bundle {
        plan: plan.clone(),
        emitted,
        dir: dir.clone(),
        plan_file,
        component_file,
        precompiled,
        signatures,
        provenance,
    })
}

/// The provenance file names: the statement as canonical JSON, or signed in a bundle.
const PROVENANCE_PLAIN: &str = "provenance.json";
const PROVENANCE_SIGNED: &str = "provenance.sigstore.json";

/// The builder id a build script's or the macro's provenance names.
pub const BUILDER_ID: &str = "https://example.invalid/compose/compose-build";

/// The provenance file's name and bytes for `emitted`: the statement naming the output
/// `component.wasm` and the plan `plan_name`, signed when there is a `signer`.
fn provenance(
    emitted: &Emitted,
    plan_name: &str,
    signer: Option<&compose_trust::SigningKey>,
) -> Result<(&'static str, Vec<u8>), compose_trust::TrustError> {
    let statement = crate::provenance::statement(
        emitted,
        &crate::provenance::Provenance {
            subject: "component.wasm",
            plan: plan_name,
            builder: BUILDER_ID,
            builder_version: env!("CARGO_PKG_VERSION"),
            started_on: None,
        },
    );
    let mut canonical = crate::provenance::to_canonical_json(&statement);
    match signer {
        Some(s) => compose_trust::sign::sign_in_toto(canonical, s)
            .map(|b| (PROVENANCE_SIGNED, b.into_bytes())),
        None => {
            canonical.push(b'\n');
            Ok((PROVENANCE_PLAIN, canonical))
        }
    }
}

/// The bundles to embed: one made now with the build's key, if it has one, and those the blob
/// store holds for the component (sorted, so the generated code is stable).
fn signatures(
    emitted: &Emitted,
    precompiled: Option<&Digest>,
    signer: Option<&compose_trust::SigningKey>,
    settings: &Settings,
) -> Result<Vec<String>, compose_trust::TrustError> {
    let mut out = Vec::new();
    if let Some(key) = signer {
        // The build's own statement names the precompiled code too, so a binary checking it
        // may run that code.
        let statement = compose_trust::statement::composition_with_code(
            "component.wasm",
            &emitted.digest,
            &emitted.plan_digest,
            precompiled,
        );
        out.push(compose_trust::sign::sign_statement(&statement, key)?);
    }
    if let Some(store) = &settings.emit.cache {
        let mut found = compose_trust::locate::Found::default();
        found.store(store, &emitted.digest);
        out.extend(
            found
                .bundles
                .into_iter()
                .filter_map(|b| String::from_utf8(b.json).ok()),
        );
    }
    Ok(out)
}

#[cfg(feature = "precompile")]
fn precompile(
    component: &[u8],
    plan: &Plan,
    settings: &Settings,
) -> Result<(Vec<u8>, String), crate::PrecompileError> {
    let cache = settings.emit.cache.as_ref();
    crate::precompile::precompile_for(component, &plan.policy, &settings.target, cache)
        .map(|c| (c.bytes, c.compatibility.line()))
}

#[cfg(not(feature = "precompile"))]
fn precompile(
    _component: &[u8],
    _plan: &Plan,
    _settings: &Settings,
) -> Result<(Vec<u8>, String), crate::PrecompileError> {
    Err(crate::PrecompileError::NotEnabled)
}

/// Writes `bytes` to `path` atomically unless the file already holds exactly them, so an
/// unchanged output keeps its modification time and triggers no rebuild.
fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    write_atomic(path, bytes)
}

/// The output folder of the `compose!` macro for a composition when the crate has no build
/// script: `<target>/compose/out/<name>-<first 12 hex digits of the plan digest>`.
pub(crate) fn macro_out_dir(target: &Path, name: &str, plan_digest: &Digest) -> PathBuf {
    let hex = plan_digest.to_string();
    let short = hex.trim_start_matches("sha256:").get(..12).unwrap_or("");
    target.join("compose/out").join(format!("{name}-{short}"))
}
