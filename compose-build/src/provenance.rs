//! The provenance of an emit: an in-toto Statement v1 with an SLSA Provenance v1 predicate
//! naming the composed component, the plan, every input component (its source, digest and the
//! canonical WIT ids of what it imports) and the builder, serialized as RFC 8785 canonical JSON
//! (`serde_json_canonicalizer`), so the same plan and inputs give the same bytes on any
//! machine. It holds no absolute path: the plan is named by its file name, sources as the plan
//! writes them (relative to the plan), and a time only when the caller gives one.
//!
//! The statement is built with `serde_json` by hand: no maintained crate models SLSA
//! Provenance v1 (the `in-toto` crate covers the v0.1 layout only).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use compose_model::Digest;
use compose_model::host::Provided;
use compose_model::plan::{Binding, Diagnostic, Plan, Source};
use compose_wit::{Item, Wit};
use serde_json::{Value, json};

use crate::Emitted;
use crate::host_wit::host_interface;
use crate::source::Resolved;
use crate::surface::{Depth, surface};

/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The SLSA Provenance v1 predicate type.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// This project's build type: an emit of a composition plan (`docs/provenance.md`).
pub const BUILD_TYPE: &str = "https://example.invalid/compose/emit/v1";

/// The crates that compose, validate and encode, at the versions this library is built with
/// (a test checks them against `Cargo.lock`).
pub const TOOL_VERSIONS: &[(&str, &str)] = &[
    ("wasm-compose", "0.261.0"),
    ("wasm-encoder", "0.261.0"),
    ("wasmparser", "0.261.0"),
    ("wit-component", "0.261.0"),
    ("wit-parser", "0.261.0"),
];

/// What the WIT decoder found for the provenance: each component's imports with the canonical
/// WIT id of each, and the project's own WIT packages a host-bound import was checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interfaces {
    /// Component name → import name (as in the binary) → canonical WIT id.
    pub imports: BTreeMap<String, BTreeMap<String, Digest>>,
    /// Package name (`std:secrets`) → its canonical WIT id.
    pub host_packages: BTreeMap<String, Digest>,
    /// Component name → where it came from, as the emitted plan says (relative to the plan):
    /// recorded at emit, so the statement describes the plan that was built, not the file as
    /// it reads later.
    pub sources: BTreeMap<String, Value>,
}

/// Decodes every distinct component's WIT once and records the id of each import; a component
/// whose WIT does not decode fails the emit (its provenance could not be complete).
pub(crate) fn interfaces(
    plan: &Plan,
    resolved: &BTreeMap<String, Resolved>,
) -> Result<Interfaces, Diagnostic> {
    let mut out = Interfaces::default();
    let mut by_digest: BTreeMap<Digest, BTreeMap<String, Digest>> = BTreeMap::new();
    for (name, r) in resolved {
        let ids = match by_digest.entry(r.input.digest()) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(e) => {
                let s = surface(name, r, Depth::Wit)?;
                let wit = s.wit.expect("decoded at `Depth::Wit`");
                let ids: BTreeMap<String, Digest> = s
                    .imports
                    .iter()
                    .filter_map(|(n, item)| Some((n.clone(), wit.id((*item)?))))
                    .collect();
                e.insert(ids).clone()
            }
        };
        for import in ids.keys() {
            let bound_to_host = plan.components.get(name).is_some_and(|c| {
                c.imports.iter().any(|(k, b)| {
                    compose_model::host::same_interface(import, k)
                        && matches!(b, Binding::Host { .. })
                })
            }) || compose_model::host::host_package(import)
                .is_some_and(|p| !matches!(p.provided, Provided::Bound(_)));
            if bound_to_host && let Some((text, _)) = host_interface(import) {
                let wit = Wit::from_str(import, text).expect("the project's WIT packages parse");
                let package = compose_model::host::host_package(import).map(|p| p.package);
                if let Some(package) = package {
                    out.host_packages
                        .insert(package.to_owned(), wit.id(Item::Package(wit.package())));
                }
            }
        }
        out.imports.insert(name.clone(), ids);
        out.sources.insert(name.clone(), source(plan, name));
    }
    Ok(out)
}

/// Who made the statement and when.
#[derive(Clone, Debug)]
pub struct Provenance<'a> {
    /// The composed component's name: the output's file name.
    pub subject: &'a str,
    /// The plan's name: its file name, or an OCI reference.
    pub plan: &'a str,
    /// The builder's id, a URI (e.g. `https://example.invalid/compose/composectl`).
    pub builder: &'a str,
    /// The builder's version.
    pub builder_version: &'a str,
    /// When the build started (RFC 3339), only when asked for: a time makes the statement
    /// differ from build to build.
    pub started_on: Option<&'a str>,
}

fn digest_set(d: &Digest) -> Value {
    json!({ "sha256": d.hex() })
}

/// Where a component came from, as the plan says (relative to the plan).
fn source(plan: &Plan, name: &str) -> Value {
    match plan.components.get(name).map(|c| &c.source) {
        Some(Source::Path(p)) => json!({ "path": p }),
        Some(Source::Crate(c)) => {
            let mut s = json!({ "crate": c });
            if let Some(w) = &plan.workspace {
                s["workspace"] = json!(w);
            }
            s
        }
        Some(Source::Blob(d)) => json!({ "blob": d.to_string() }),
        Some(Source::Oci(r)) => json!({ "oci": r.to_string() }),
        Some(other) => json!({ "kind": other.kind() }),
        None => Value::Null,
    }
}

/// The statement for `emitted` (emitted with [`crate::EmitOptions::provenance`], so its
/// [`Emitted::interfaces`] are known).
pub fn statement(emitted: &Emitted, p: &Provenance) -> Value {
    let empty = BTreeMap::new();
    let mut dependencies: Vec<Value> = emitted
        .inputs
        .iter()
        .map(|(name, digest)| {
            let imports: BTreeMap<&String, String> = emitted
                .interfaces
                .imports
                .get(name)
                .unwrap_or(&empty)
                .iter()
                .map(|(i, id)| (i, id.to_string()))
                .collect();
            json!({
                "name": format!("components.{name}"),
                "digest": digest_set(digest),
                "annotations": {
                    "source": emitted.interfaces.sources.get(name).cloned().unwrap_or(Value::Null),
                    "imports": imports,
                },
            })
        })
        .collect();
    dependencies.extend(
        emitted
            .interfaces
            .host_packages
            .iter()
            .map(|(package, id)| {
                json!({
                    "name": format!("wit:{package}"),
                    "digest": digest_set(id),
                    "annotations": { "kind": "the host's WIT package, checked against" },
                })
            }),
    );
    let mut versions: BTreeMap<&str, &str> = TOOL_VERSIONS.iter().copied().collect();
    versions.insert("compose-build", env!("CARGO_PKG_VERSION"));
    let mut run = json!({
        "builder": { "id": p.builder, "version": versions },
    });
    run["builder"]["version"][builder_name(p.builder)] = json!(p.builder_version);
    if let Some(t) = p.started_on {
        run["metadata"] = json!({ "startedOn": t });
    }
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "name": p.subject, "digest": digest_set(&emitted.digest) }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "plan": { "name": p.plan, "digest": digest_set(&emitted.plan_digest) },
                },
                "internalParameters": { "emitKey": emitted.emit_key.to_string() },
                "resolvedDependencies": dependencies,
            },
            "runDetails": run,
        },
    })
}

/// The last segment of a builder id (`…/composectl` → `composectl`).
fn builder_name(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// RFC 8785 canonical JSON of `value`.
pub fn to_canonical_json(value: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    /// The versions the statement names are the ones built: those `Cargo.lock` holds.
    #[test]
    fn tool_versions_are_the_locked_ones() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        for (name, version) in super::TOOL_VERSIONS {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"\n");
            assert!(lock.contains(&entry), "Cargo.lock has no {name} {version}");
        }
    }
}
