//! `composectl audit`: make a checkpoint key, and check, prove and show an audit log written by
//! `exec run`/`exec serve` (`observability.audit = "file:PATH"`), with `compose_audit`.
//!
//! Exit codes: 0 verified (or shown), 1 refused (the coded reason is printed, naming the first
//! bad record where one is to blame), 2 usage or I/O.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use compose_audit::checkpoint::{self, Key};
use compose_audit::record::escape;
use compose_audit::verify::{self, Verified};
use compose_audit::{AuditError, Record, checkpoint_path};
use serde_json::{Value, json};

use crate::failure::Coded;
use crate::io;

/// Check, prove and show audit logs.
#[derive(Subcommand)]
#[command(defer = true)]
pub enum AuditCommand {
    /// Make an Ed25519 key that signs audit checkpoints (C2SP signed-note): the private key
    /// in FILE (readable by its owner only) and the verifier key in FILE.pub. The key's name
    /// is the log's origin, the first line of every checkpoint it signs.
    Keygen {
        /// Where to write the private key (`PRIVATE+KEY+NAME+…`); FILE.pub gets `NAME+…`.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// The key's name, e.g. `audit.example.com/payments` (no spaces or `+`).
        #[arg(long, default_value = checkpoint::DEFAULT_NAME)]
        name: String,
        /// Print `{"private","public","name"}`.
        #[arg(long)]
        json: bool,
    },
    /// Check a log: its latest checkpoint is signed by one of `--key`, every record's frame,
    /// encoding and index are intact, the checkpoint covers exactly the records there are and
    /// their Merkle tree, and with `--trusted-checkpoint` that the log extends one kept
    /// earlier. Exit 0 verified, 1 refused (E0803 altered, cut or extended, naming the first
    /// bad record; E0804 checkpoint; E0805 does not extend the trusted one), 2 usage or I/O.
    Verify {
        /// The audit log.
        log: PathBuf,
        /// A verifier key (`NAME+ID+…`, as `audit keygen` writes to FILE.pub); repeatable
        /// (while a key is rotated, both).
        #[arg(long, value_name = "PUB", required = true)]
        key: Vec<PathBuf>,
        /// The latest checkpoint (default: LOG.checkpoint).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// A checkpoint kept outside the log earlier (e.g. from `--audit-checkpoint-out`):
        /// the log must extend it, which finds a log cut together with its own checkpoint.
        #[arg(long, value_name = "FILE")]
        trusted_checkpoint: Option<PathBuf>,
        /// Print `{"verified":true,"origin","size","root_hash",…}`, or
        /// `{"verified":false,"code","message","index"}`.
        #[arg(long)]
        json: bool,
    },
    /// Verify a log as `audit verify` does, then print a proof against its latest checkpoint:
    /// with `--index N` that record N is in the log (RFC 6962 inclusion proof), with
    /// `--consistency OLD` that the log extends the checkpoint OLD (consistency proof). The
    /// proof is checked before it is printed.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["index", "consistency"])))]
    Prove {
        /// The audit log.
        log: PathBuf,
        /// A verifier key; repeatable.
        #[arg(long, value_name = "PUB", required = true)]
        key: Vec<PathBuf>,
        /// The latest checkpoint (default: LOG.checkpoint).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// The record to prove.
        #[arg(long, value_name = "N")]
        index: Option<u64>,
        /// An older checkpoint the log must extend.
        #[arg(long, value_name = "OLD_CHECKPOINT")]
        consistency: Option<PathBuf>,
    },
    /// Print a log's records, control characters escaped. Only frames, encoding and indexes
    /// are checked: run `audit verify` to check the checkpoint.
    Show {
        /// The audit log.
        log: PathBuf,
        /// Print the records as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

impl AuditCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            AuditCommand::Keygen { output, name, json } => keygen(&output, &name, json),
            AuditCommand::Verify {
                log,
                key,
                checkpoint,
                trusted_checkpoint,
                json,
            } => {
                let trusted = trusted_checkpoint.as_deref().map(io::read).transpose()?;
                match check(&log, &key, checkpoint.as_deref(), trusted.as_deref())? {
                    Ok(v) => verified(&v, json),
                    Err(e) => refused(&e, json),
                }
            }
            AuditCommand::Prove {
                log,
                key,
                checkpoint,
                index,
                consistency,
            } => {
                let old = consistency.as_deref().map(io::read).transpose()?;
                let v = match check(&log, &key, checkpoint.as_deref(), None)? {
                    Ok(v) => v,
                    Err(e) => return refused(&e, true),
                };
                let proof = match (index, old) {
                    (Some(n), _) => prove_record(&v, n),
                    (None, Some(old)) => prove_tree(&v, &old, &key),
                    (None, None) => unreachable!("clap requires one of them"),
                };
                match proof? {
                    Ok(p) => io::println(p).map(|()| ExitCode::SUCCESS),
                    Err(e) => refused(&e, true),
                }
            }
            AuditCommand::Show { log, json } => show(&log, json),
        }
    }
}

fn keygen(output: &Path, name: &str, json: bool) -> Result<ExitCode> {
    let (private, public) = match Key::generate(name) {
        Ok(k) => k,
        Err(e) => return refused(&e, json),
    };
    let public_path = PathBuf::from(format!("{}.pub", output.display()));
    for p in [output, &public_path] {
        if p.exists() {
            return Err(Coded::usage(format!(
                "`{}` exists; a key is not overwritten (remove it first)",
                p.display()
            )));
        }
    }
    io::write_private(output, format!("{private}\n").as_bytes())?;
    io::write(Some(&public_path), format!("{public}\n").as_bytes())?;
    if json {
        io::println(json!({
            "private": output,
            "public": public_path,
            "name": name,
        }))?;
    } else {
        eprintln!(
            "wrote the checkpoint key `{name}` to {} and its verifier key to {}",
            output.display(),
            public_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the log, its checkpoint and keys, and verifies (I/O errors are the outer error).
fn check(
    log: &Path,
    keys: &[PathBuf],
    checkpoint: Option<&Path>,
    trusted: Option<&[u8]>,
) -> Result<Result<Verified, AuditError>> {
    let keys = read_keys(keys)?;
    let bytes = io::read(log)?;
    let checkpoint = io::read(&checkpoint.map_or_else(|| checkpoint_path(log), Path::to_owned))?;
    Ok(verify::verify(&bytes, &checkpoint, &keys, trusted))
}

fn read_keys(paths: &[PathBuf]) -> Result<Vec<String>> {
    paths
        .iter()
        .map(|p| {
            let text = String::from_utf8(io::read(p)?).map_err(|_| {
                Coded::usage(format!("`{}` is not a verifier key (text)", p.display()))
            })?;
            Ok(text.trim().to_owned())
        })
        .collect()
}

fn verified(v: &Verified, json: bool) -> Result<ExitCode> {
    let c = &v.checkpoint;
    let guest = v
        .records
        .iter()
        .filter(|r| r.source == compose_audit::Source::Guest)
        .count();
    if json {
        io::println(json!({
            "verified": true,
            "origin": c.origin,
            "size": c.size,
            "root_hash": c.hash.to_string(),
            "host_records": v.records.len() - guest,
            "guest_records": guest,
            "extends": v.extends.as_ref().map(|t| t.size),
        }))?;
    } else {
        eprintln!(
            "verified the audit log `{}`: {} records ({} host, {guest} guest), checkpoint signed, root {}{}",
            c.origin,
            c.size,
            v.records.len() - guest,
            c.hash,
            v.extends
                .as_ref()
                .map(|t| format!("; extends the trusted checkpoint of {} records", t.size))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn refused(e: &AuditError, json: bool) -> Result<ExitCode> {
    if json {
        io::println(json!({
            "verified": false,
            "code": e.code.as_str(),
            "message": e.message,
            "index": e.index,
        }))?;
    } else {
        eprintln!("{e}");
    }
    Ok(ExitCode::FAILURE)
}

fn hashes(p: &[tlog_tiles::Hash]) -> Vec<String> {
    p.iter().map(|h| h.to_string()).collect()
}

fn prove_record(v: &Verified, n: u64) -> Result<Result<Value, AuditError>> {
    let c = &v.checkpoint;
    if n >= c.size {
        return Err(Coded::usage(format!(
            "`--index {n}`: the log has {} records (0 to {})",
            c.size,
            c.size.saturating_sub(1)
        )));
    }
    let proof = v.tree.prove_record(c.size, n);
    let leaf = v.tree.leaf(n);
    if tlog_tiles::check_record(&proof, c.size, c.hash, n, leaf).is_err() {
        return Ok(Err(AuditError::at(n, "its inclusion proof does not check")));
    }
    Ok(Ok(json!({
        "origin": c.origin,
        "index": n,
        "tree_size": c.size,
        "root_hash": c.hash.to_string(),
        "leaf_hash": leaf.to_string(),
        "record": record_json(&v.records[n as usize]),
        "inclusion_proof": hashes(&proof),
    })))
}

fn prove_tree(v: &Verified, old: &[u8], keys: &[PathBuf]) -> Result<Result<Value, AuditError>> {
    let keys = read_keys(keys)?;
    let old = match checkpoint::verify(old, &keys, "the older checkpoint") {
        Ok(o) => o,
        Err(e) => return Ok(Err(e)),
    };
    // The same checks as `audit verify --trusted-checkpoint`.
    let latest = &v.checkpoint;
    if let Err(e) = verify::extends(latest, &v.tree, &old) {
        return Ok(Err(e));
    }
    // A tree of no records is extended by any tree: its proof is empty.
    let proof = if old.size == 0 {
        Vec::new()
    } else {
        v.tree.prove_tree(latest.size, old.size)
    };
    Ok(Ok(json!({
        "origin": latest.origin,
        "old_size": old.size,
        "old_root_hash": old.hash.to_string(),
        "tree_size": latest.size,
        "root_hash": latest.hash.to_string(),
        "consistency_proof": hashes(&proof),
    })))
}

/// A record as JSON (whose strings escape control characters themselves).
fn record_json(r: &Record) -> Value {
    json!({
        "index": r.index,
        "time": r.time,
        "run": r.run,
        "plan": r.plan,
        "component": r.component,
        "source": r.source.as_str(),
        "kind": r.kind,
        "fields": r.fields,
    })
}

fn show(log: &Path, json: bool) -> Result<ExitCode> {
    let bytes = io::read(log)?;
    let (records, bad) = verify::read_lenient(&bytes);
    if json {
        let all: Vec<Value> = records.iter().map(record_json).collect();
        io::println(Value::Array(all))?;
    } else {
        let mut out = String::new();
        for r in &records {
            let fields: Vec<String> = r
                .fields
                .iter()
                .map(|(k, v)| format!("{}=\"{}\"", escape(k), escape(v)))
                .collect();
            out.push_str(&format!(
                "{:>6} {} {:<5} {} run={} {}\n",
                r.index,
                r.time,
                r.source.as_str(),
                escape(&r.kind),
                escape(&r.run),
                fields.join(" ")
            ));
        }
        io::print(&out)?;
    }
    match bad {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => refused(&e, false),
    }
}
