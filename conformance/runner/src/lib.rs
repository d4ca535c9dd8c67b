//! The conformance runner: reads the vector files under `conformance/vectors/` and runs every
//! vector through a `composectl` binary, recording one result per `file/tcId` with the exit
//! codes, stdout and stderr of each step.
//!
//! Vectors are Wycheproof-like JSON: a header (`suite`, `schema`, `count`, `notes`) and `tests`,
//! each with a stable `tcId`, a `comment`, hex or text inputs, `result: valid|invalid` and, for
//! invalid ones, an `errorCode` from `docs/errors.md`. What each suite checks is in `suites.rs`.

pub mod attest;
mod exec;
mod suites;
mod summary;
mod trust;

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

pub use summary::{CaseResult, Status, Step, Summary};

/// Runs every `*.json` vector file in `vectors_dir` (sorted by name) through `composectl`.
pub fn run(composectl: &Path, vectors_dir: &Path) -> Result<Summary> {
    let mut files: Vec<_> = std::fs::read_dir(vectors_dir)
        .with_context(|| format!("failed to read `{}`", vectors_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no vector files (`*.json`) in `{}`", vectors_dir.display());
    }
    let mut summary = Summary::new(composectl, vectors_dir);
    for file in &files {
        run_file(composectl, file, &mut summary)?;
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (vectors, tmp) = (canonical(vectors_dir), canonical(&std::env::temp_dir()));
    let bin_dir = composectl.parent().map(canonical).unwrap_or_default();
    summary.redact(&[
        (vectors_dir, "$VECTORS"),
        (&vectors, "$VECTORS"),
        (&tmp, "$TMPDIR"),
        (&std::env::temp_dir(), "$TMPDIR"),
        (composectl.parent().unwrap_or(Path::new("")), "$BIN"),
        (&bin_dir, "$BIN"),
    ]);
    Ok(summary)
}

fn run_file(composectl: &Path, file: &Path, summary: &mut Summary) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read `{}`", file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not JSON", file.display()))?;
    let name = file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let suite = doc["suite"]
        .as_str()
        .with_context(|| format!("`{name}` has no `suite`"))?
        .to_owned();
    let tests = doc["tests"]
        .as_array()
        .with_context(|| format!("`{name}` has no `tests` array"))?;
    if doc["count"].as_u64() != Some(tests.len() as u64) {
        bail!(
            "`{name}`: `count` is {} but there are {} tests",
            doc["count"],
            tests.len()
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for test in tests {
        let id = test["tcId"]
            .as_u64()
            .with_context(|| format!("`{name}`: a test has no numeric `tcId`"))?;
        if !seen.insert(id) {
            bail!("`{name}`: tcId {id} appears twice");
        }
        let result = match suite.as_str() {
            "canon-cbor" => suites::cbor(composectl, test),
            "plan" => suites::plan(composectl, file.parent().unwrap_or(Path::new(".")), test),
            "canon-wit" => suites::wit(composectl, test),
            "trust-bundle" => trust::bundle(composectl, test),
            other => bail!("`{name}`: unknown suite `{other}`"),
        };
        let mut case = result.with_context(|| format!("`{name}` tcId {id}: cannot run"))?;
        case.file = name.clone();
        case.suite = suite.clone();
        case.tc_id = id;
        case.comment = test["comment"].as_str().unwrap_or("").to_owned();
        summary.push(case);
    }
    Ok(())
}
