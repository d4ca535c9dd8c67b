//! The run as an in-toto statement with the test-result predicate
//! (`https://in-toto.io/attestation/test-result/v0.1`): the subject is the composectl binary
//! under test, the result and the passed and failed vector ids come from the summary, and the
//! configuration names what the run depended on (the binary's version, the vector files'
//! digests, the host's OS and architecture) and what it did: its metrics (`run/metrics`:
//! vectors, passed, failed and commands, in all and per suite) and its event log (`run/events`:
//! every command run, in order, with its vector and exit code, and the log's digest), with no
//! path of the machine and no time, so that the same binary and vectors give the same
//! statement. Serialized as RFC 8785 canonical JSON, and signed into a Sigstore bundle (a DSSE
//! envelope) with a key.
//!
//! A key made for one run (as CI does) proves the report's format and integrity, not who ran
//! it: only a key whose owner is known says that.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use compose_model::Digest;
use serde_json::{Value, json};

use crate::{Status, Summary};

/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The test-result predicate type.
pub const PREDICATE_TYPE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// What the statement names besides the summary: the binary and the vector files.
#[derive(Clone, Debug)]
pub struct Tested {
    /// The binary's digest.
    pub composectl: Digest,
    /// What `composectl --version` printed.
    pub version: String,
    /// Each vector file's name and digest, sorted by name.
    pub vectors: BTreeMap<String, Digest>,
}

impl Tested {
    /// Reads the binary and the vector files (`*.json` in `vectors_dir`): before the run, so
    /// the digests are of what was tested.
    pub fn read(composectl: &Path, vectors_dir: &Path) -> Result<Tested> {
        let bytes = std::fs::read(composectl)
            .with_context(|| format!("failed to read `{}`", composectl.display()))?;
        let out = Command::new(composectl)
            .arg("--version")
            .output()
            .with_context(|| format!("failed to run `{} --version`", composectl.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "`{} --version` failed: {}",
            composectl.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut vectors = BTreeMap::new();
        for entry in std::fs::read_dir(vectors_dir)
            .with_context(|| format!("failed to read `{}`", vectors_dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                vectors.insert(name.into_owned(), Digest::of(&std::fs::read(&path)?));
            }
        }
        Ok(Tested {
            composectl: Digest::of(&bytes),
            version: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            vectors,
        })
    }
}

fn digest_set(d: &Digest) -> Value {
    json!({ "sha256": d.hex() })
}

/// The statement for `summary` of a run of `tested`.
pub fn statement(summary: &Summary, tested: &Tested) -> Value {
    let ids = |status: Status| -> Vec<&str> {
        summary
            .results
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.id.as_str())
            .collect()
    };
    let listing: String = tested
        .vectors
        .iter()
        .map(|(name, d)| format!("{} {name}\n", d.hex()))
        .collect();
    let files: BTreeMap<&String, String> =
        tested.vectors.iter().map(|(n, d)| (n, d.hex())).collect();
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "name": summary.composectl, "digest": digest_set(&tested.composectl) }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "result": if summary.totals.failed == 0 { "PASSED" } else { "FAILED" },
            "passedTests": ids(Status::Pass),
            "warnedTests": [],
            "failedTests": ids(Status::Fail),
            "configuration": [
                {
                    "name": summary.composectl,
                    "digest": digest_set(&tested.composectl),
                    "annotations": { "version": tested.version },
                },
                {
                    "name": "conformance/vectors",
                    // SHA-256 of `sha256-hex name\n` per file, sorted by name
                    // (the files and their digests are listed too).
                    "digest": digest_set(&Digest::of(listing.as_bytes())),
                    "annotations": { "files": files },
                },
                {
                    "name": "host",
                    "annotations": {
                        "os": std::env::consts::OS,
                        "arch": std::env::consts::ARCH,
                    },
                },
                metrics(summary),
                events(summary),
            ],
        },
    })
}

/// The run's metrics: vectors run, passed and failed and the commands run, in all and per
/// suite.
fn metrics(summary: &Summary) -> Value {
    let commands = |suite: Option<&str>| -> usize {
        summary
            .results
            .iter()
            .filter(|c| suite.is_none_or(|s| c.suite == s))
            .map(|c| c.steps.len())
            .sum()
    };
    let suites: BTreeMap<&String, Value> = summary
        .suites
        .iter()
        .map(|(name, t)| {
            (
                name,
                json!({ "vectors": t.total, "passed": t.passed, "failed": t.failed, "commands": commands(Some(name)) }),
            )
        })
        .collect();
    json!({
        "name": "run/metrics",
        "annotations": {
            "vectors": summary.totals.total,
            "passed": summary.totals.passed,
            "failed": summary.totals.failed,
            "commands": commands(None),
            "suites": suites,
        },
    })
}

/// The run's event log: each command run, in order, as `{"test","args","exit"}` (arguments
/// after `composectl`, machine folders replaced by placeholders), and the SHA-256 of its
/// canonical JSON.
fn events(summary: &Summary) -> Value {
    let log: Vec<Value> = summary
        .results
        .iter()
        .flat_map(|c| {
            c.steps
                .iter()
                .map(|s| json!({ "test": c.id, "args": s.args, "exit": s.exit }))
        })
        .collect();
    let log = Value::Array(log);
    let canonical = serde_json_canonicalizer::to_vec(&log).unwrap_or_default();
    json!({
        "name": "run/events",
        "digest": digest_set(&Digest::of(&canonical)),
        "annotations": { "events": log },
    })
}

/// The attestation file's bytes: the statement as canonical JSON, or signed with the private
/// key at `sign_key` into a Sigstore bundle.
pub fn make(summary: &Summary, tested: &Tested, sign_key: Option<&Path>) -> Result<Vec<u8>> {
    let value = statement(summary, tested);
    let mut canonical = serde_json_canonicalizer::to_vec(&value)
        .context("failed to serialize the statement as canonical JSON")?;
    match sign_key {
        Some(path) => {
            let key = compose_trust::SigningKey::read(path)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            let bundle = compose_trust::sign::sign_in_toto(canonical, &key)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            Ok(bundle.into_bytes())
        }
        None => {
            canonical.push(b'\n');
            Ok(canonical)
        }
    }
}
