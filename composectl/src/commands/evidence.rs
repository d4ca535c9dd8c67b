//! `composectl attest verify-evidence`: check attestation evidence a host signed for a guest
//! (`std:attest`), with `compose_trust::evidence`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use compose_model::Digest;
use compose_model::plan;
use compose_trust::PublicKey;
use compose_trust::evidence::{self, Expected, MAX_NONCE};
use serde_json::json;

use super::trust::refused;
use crate::failure::Coded;
use crate::io;

/// The command's arguments (see `AttestCommand::VerifyEvidence`).
pub struct Args {
    pub evidence: PathBuf,
    pub key: Vec<PathBuf>,
    pub nonce: String,
    pub plan: Option<PathBuf>,
    pub component: Option<PathBuf>,
    pub max_age: Option<u64>,
    pub json: bool,
}

/// Verifies the evidence and prints what it says.
pub fn verify(args: Args) -> Result<ExitCode> {
    let nonce = evidence::unhex(&args.nonce.to_ascii_lowercase())
        .filter(|n| n.len() <= MAX_NONCE)
        .ok_or_else(|| {
            Coded::usage(format!(
                "`--nonce {}`: not hex of at most {MAX_NONCE} bytes",
                args.nonce
            ))
        })?;
    if nonce.is_empty() && args.max_age.is_none() {
        return Err(Coded::usage(
            "an empty `--nonce` lets anyone replay the evidence for ever: give the nonce you sent, or bound its age with `--max-age SECONDS`",
        ));
    }
    let bundle = io::read(&args.evidence)?;
    let mut keys = Vec::new();
    for k in &args.key {
        match PublicKey::read(k) {
            Ok(key) => keys.push(key),
            Err(e) => return refused(&e, args.json),
        }
    }
    let plan = match &args.plan {
        Some(p) => Some(plan_digest(p)?),
        None => None,
    };
    let component = match &args.component {
        Some(c) => Some(Digest::of(&io::read(c)?)),
        None => None,
    };
    let expected = Expected {
        nonce: &nonce,
        plan,
        component,
        max_age: args.max_age.map(std::time::Duration::from_secs),
    };
    let checked = match evidence::verify(&bundle, &keys, &expected) {
        Ok(c) => c,
        Err(e) => return refused(&e, args.json),
    };
    let e = &checked.evidence;
    if args.json {
        io::println(json!({
            "verified": true,
            "signer": checked.signer,
            "evidence": e,
        }))?;
    } else {
        eprintln!(
            "verified {} evidence signed by key {} at {}: plan {}, component {}, on {} (Wasmtime {}, {}), instance {}{}",
            e.evidence_kind.as_str(),
            checked.signer,
            e.issued_at,
            e.plan,
            e.component,
            e.host.runtime,
            e.host.wasmtime,
            e.host.target,
            e.instance,
            match (plan.is_some(), component.is_some()) {
                (true, true) => "; the plan and component are the ones given",
                (true, false) => "; the plan is the one given",
                (false, true) => "; the component is the one given",
                (false, false) => "",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The digest of the plan in `path` (TOML or CBOR), as a host running it computes it.
fn plan_digest(path: &std::path::Path) -> Result<Digest> {
    let bytes = io::read(path)?;
    let (result, source) = plan::from_file_bytes(path, &bytes);
    match result {
        Ok(p) => Ok(p.digest()),
        Err(d) => {
            eprint!(
                "{}",
                plan::render(&path.display().to_string(), source.as_deref(), &d)
            );
            Err(Coded::usage(format!(
                "`--plan {}` is not a valid plan",
                path.display()
            )))
        }
    }
}
