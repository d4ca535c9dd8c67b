//! `emit`: plan → resolved, checked components → one composed component, cached by content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use compose_model::Digest;
use compose_model::blobs::Prepared;
use compose_model::plan::{self, Diagnostic, Plan};

use crate::checks::{check, pins_wit_ids};
use crate::source::resolve_all;
use crate::surface::Depth;
use crate::{EmitError, EmitOptions};

/// A composed component and what it was made from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Emitted {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// Its digest.
    pub digest: Digest,
    /// The digest of the plan's canonical CBOR.
    pub plan_digest: Digest,
    /// H(canonical plan, input digests, emitter version): what the cache is keyed by.
    pub emit_key: Digest,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Each component's digest.
    pub inputs: BTreeMap<String, Digest>,
    /// Every file read to make it, sorted: component files, guest crates' sources, WIT files
    /// and manifests (not the plan file itself). A build script watches these.
    pub files: Vec<PathBuf>,
    /// The canonical WIT ids of every input's imports, with [`EmitOptions::provenance`]
    /// (empty otherwise).
    pub interfaces: crate::provenance::Interfaces,
}

/// The emitter's version, part of every emit key.
/// v2: the composed component records its plan (`compose_model::plan::recorded::SECTION`).
const EMIT_VERSION: &str = "emit:v2";

/// Reads a plan file (TOML or canonical CBOR) and emits its composition.
pub fn emit(plan_path: &Path, options: &EmitOptions) -> Result<Emitted, EmitError> {
    emit_file(plan_path, options, None).map(|(emitted, _)| emitted)
}

/// [`emit`], for a caller that writes the composed component to `output`: it is written to a
/// temporary file beside `output` while it is validated (a cold emit's last step), and
/// returned with the result. [`Prepared::commit`] puts it in place; dropping it removes it.
/// If it could not be written, the error is returned in its place (the caller may write
/// `Emitted::bytes` itself, and report what fails). The output's folder is created if need be.
pub fn emit_prepared(
    plan_path: &Path,
    options: &EmitOptions,
    output: &Path,
) -> Result<(Emitted, std::io::Result<Prepared>), EmitError> {
    let (emitted, prepared) = emit_file(plan_path, options, Some(output))?;
    Ok((emitted, prepared.expect("asked for")))
}

fn emit_file(
    plan_path: &Path,
    options: &EmitOptions,
    output: Option<&Path>,
) -> Result<(Emitted, Option<std::io::Result<Prepared>>), EmitError> {
    let file = plan_path.display().to_string();
    let read = crate::plan_file::read_plan(plan_path)?;
    let base = plan_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    emit_inner(&read.plan, &base, options, output).map_err(|mut e| {
        read.locate(&mut e.diagnostics);
        e.file = file;
        e.source = read.source.clone();
        e
    })
}

/// Emits the composition of a checked plan; relative paths resolve against `base`.
pub fn emit_plan(plan: &Plan, base: &Path, options: &EmitOptions) -> Result<Emitted, EmitError> {
    emit_inner(plan, base, options, None).map(|(emitted, _)| emitted)
}

/// [`emit_plan`], preparing the output file (`output`) as [`emit_prepared`] says.
fn emit_inner(
    plan: &Plan,
    base: &Path,
    options: &EmitOptions,
    output: Option<&Path>,
) -> Result<(Emitted, Option<std::io::Result<Prepared>>), EmitError> {
    let fail = |d: Vec<Diagnostic>| EmitError::new("plan", None, d);
    // What this host cannot enforce is refused before anything is built or written.
    let unsupported = plan::unsupported(plan);
    if !unsupported.is_empty() {
        return Err(fail(unsupported));
    }
    let mut diags = Vec::new();
    let mut files = Vec::new();
    let resolved = resolve_all(plan, base, options, &mut diags, &mut files);
    files.sort();
    files.dedup();
    if !diags.is_empty() {
        return Err(fail(diags));
    }
    // Signatures are checked on every emit, before the cache is asked: its key does not cover
    // the bundles.
    crate::trust::check_signatures(plan, base, options, &resolved, &mut diags);
    if !diags.is_empty() {
        return Err(fail(diags));
    }
    let plan_cbor = plan.to_cbor();
    // The inputs' digests and the emit key. Needed before composing only to ask the cache;
    // otherwise taken once composed, from the helper that hashes the inputs meanwhile
    // (`compose`).
    let keyed = || {
        let inputs: BTreeMap<String, Digest> = resolved
            .iter()
            .map(|(n, r)| (n.clone(), r.input.digest()))
            .collect();
        let key = emit_key(&plan_cbor, &inputs);
        (inputs, key)
    };
    let interfaces = if options.provenance {
        crate::provenance::interfaces(plan, &resolved).map_err(|d| fail(vec![d]))?
    } else {
        Default::default()
    };
    let mut asked = None;
    if let Some(store) = options.cache.as_ref().filter(|_| options.use_cache) {
        let (inputs, emit_key) = keyed();
        if let Some((digest, bytes)) = store.get_key("emit", &emit_key) {
            let prepared = output.map(|o| prepare_output(o, &bytes));
            let emitted = Emitted {
                bytes,
                digest,
                plan_digest: Digest::of(&plan_cbor),
                emit_key,
                cached: true,
                inputs,
                files,
                interfaces,
            };
            return Ok((emitted, prepared));
        }
        asked = Some((inputs, emit_key));
    }
    // Beside the output's validation (`compose`): its digest; and written to temporary files,
    // put in place below only once the output is found valid (dropped, so removed,
    // otherwise): the inputs' store entries (so `blob` sources can name them later; each
    // distinct one once), the output's, and the caller's `output`. An entry the store holds
    // already is left as it is.
    let store = options.cache.clone();
    let output_file = output.map(Path::to_path_buf);
    let to_store = match store {
        Some(_) => crate::source::distinct(resolved.values().map(|r| &r.input)),
        None => Vec::new(),
    };
    let beside = move |bytes: &[u8]| {
        let digest = Digest::of(bytes);
        let entry = store.map(|store| {
            let inputs: Vec<_> = to_store
                .iter()
                .filter_map(|i| store.prepare_known(&i.bytes, &i.digest()).ok().flatten())
                .collect();
            (inputs, store.prepare_known(bytes, &digest))
        });
        let file = output_file.map(|o| prepare_output(&o, bytes));
        (digest, entry, file)
    };
    let (bytes, (digest, entry, prepared)) = if pins_wit_ids(plan) {
        // The WIT checks are needed whatever happens (the plan pins identities). They and the
        // composition are independent: run them side by side, and report the checks' findings
        // first (they say more than a failed composition does).
        let composed = std::thread::scope(|s| {
            let composing = crate::beside::spawn(s, || {
                crate::compose::compose(plan, &plan_cbor, &resolved, beside)
            });
            check(plan, &resolved, Depth::Wit, &mut diags);
            composing
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        });
        if !diags.is_empty() {
            return Err(fail(diags));
        }
        composed.map_err(|d| fail(vec![d]))?
    } else {
        // Names first (cheap); then compose, which type-checks every wire as the component
        // model does, and validate. Only when that fails are both sides' WIT decoded, to say
        // which function or type differs (the checks then report what they find first).
        check(plan, &resolved, Depth::Names, &mut diags);
        if !diags.is_empty() {
            return Err(fail(diags));
        }
        match crate::compose::compose(plan, &plan_cbor, &resolved, beside) {
            Ok(composed) => composed,
            Err(d) => {
                check(plan, &resolved, Depth::Wit, &mut diags);
                return Err(fail(if diags.is_empty() { vec![d] } else { diags }));
            }
        }
    };
    let (inputs, emit_key) = asked.unwrap_or_else(keyed);
    // Valid: the inputs and the output stored (each unless held already, or its entry could
    // not be written).
    let stored = entry.is_some_and(|(inputs, output)| {
        for input in inputs {
            let _ = input.commit();
        }
        match output {
            Ok(None) => true,
            Ok(Some(prepared)) => prepared.commit().is_ok(),
            Err(_) => false,
        }
    });
    if let Some(store) = &options.cache
        && stored
    {
        let _ = store.set_key("emit", &emit_key, &digest);
    }
    let emitted = Emitted {
        bytes,
        digest,
        plan_digest: Digest::of(&plan_cbor),
        emit_key,
        cached: false,
        inputs,
        files,
        interfaces,
    };
    Ok((emitted, prepared))
}

/// The composed component written to a temporary file beside `output` (its folder created if
/// need be), to be put in place by the caller.
fn prepare_output(output: &Path, bytes: &[u8]) -> std::io::Result<Prepared> {
    if let Some(folder) = output.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    compose_model::blobs::prepare_rebuildable(output, bytes)
}

/// H(canonical plan ‖ each component's name and digest ‖ emitter version).
fn emit_key(plan_cbor: &[u8], inputs: &BTreeMap<String, Digest>) -> Digest {
    let mut material = plan_cbor.to_vec();
    for (name, d) in inputs {
        material.extend_from_slice(name.as_bytes());
        material.push(0);
        material.extend_from_slice(d.as_bytes());
    }
    material.extend_from_slice(EMIT_VERSION.as_bytes());
    Digest::of(&material)
}
