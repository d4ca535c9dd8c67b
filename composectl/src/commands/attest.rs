//! `composectl attest`: check the provenance `emit build --provenance` writes, and the
//! evidence hosts sign for guests (`std:attest`).
//!
//! Exit codes: 0 verified, 1 refused (the coded reason is printed), 2 usage or I/O.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use compose_build::EmitOptions;
use compose_build::provenance::PREDICATE_TYPE;
use compose_model::{Code, Digest};
use compose_trust::verify::{self, Accepted, Artifact, BundleFile};
use compose_trust::{PublicKey, TrustError};
use serde_json::{Value, json};

use super::trust::{policy, refused};
use crate::io;

/// Check provenance statements.
#[derive(Subcommand)]
#[command(defer = true)]
pub enum AttestCommand {
    /// Verify a component's signed provenance (a Sigstore bundle written by `emit build
    /// --provenance FILE --sign-key KEY`): the DSSE signature by one of `--key`, that the
    /// statement's subject is this component, and with `--plan` that it names this plan and
    /// the inputs the plan resolves to now. Exit 0 verified, 1 refused (with its code), 2
    /// usage or I/O error.
    Verify {
        /// The composed component.
        component: PathBuf,
        /// The provenance bundle.
        #[arg(long, value_name = "FILE")]
        provenance: PathBuf,
        /// A public key (PEM) whose signature is accepted (repeatable).
        #[arg(long, value_name = "PUB", required = true)]
        key: Vec<PathBuf>,
        /// The plan the component should have been built from (TOML or CBOR); its inputs are
        /// resolved again (the cache is used) and compared with those the statement names.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Print `{"verified":true,"digest","plan_digest","builder","signers"}`, or
        /// `{"verified":false,"code","message"}`.
        #[arg(long)]
        json: bool,
    },
    /// Verify attestation evidence a guest got from the host (`std:attest`: the report's
    /// `evidence`, a Sigstore bundle): signed by one of `--key` (the host's attestation key,
    /// never a key the bundle names), of the evidence payload type with exactly its fixed
    /// fields, answering `--nonce`, naming `--plan` and `--component` when given, and not
    /// older than `--max-age`. Prints what it says. Exit 0 verified, 1 refused (E0702 other
    /// key, E0703 altered, E0705 not evidence, E0715 other nonce, E0716 other plan or
    /// component, E0717 too old), 2 usage or I/O error.
    VerifyEvidence {
        /// The evidence (a Sigstore bundle), or `-` for standard input.
        evidence: PathBuf,
        /// The host's public attestation key (PEM); repeatable.
        #[arg(long, value_name = "PUB", required = true)]
        key: Vec<PathBuf>,
        /// The nonce the guest was given to pass on, in hex (at most 64 bytes). An empty one
        /// proves nothing about when the evidence was made, so it needs `--max-age`.
        #[arg(long, value_name = "HEX")]
        nonce: String,
        /// The plan the evidence must name (TOML or CBOR): its digest is compared.
        #[arg(long, value_name = "PLAN")]
        plan: Option<PathBuf>,
        /// The composed component the evidence must name: its digest is compared. Required
        /// (the plan's digest alone does not say which code ran: a plan's `path` sources are
        /// named, not hashed), unless `--any-component`.
        #[arg(long, value_name = "WASM", required_unless_present = "any_component")]
        component: Option<PathBuf>,
        /// Accept evidence for any component (only the signature, nonce, plan and age are
        /// checked): say so explicitly.
        #[arg(long, conflicts_with = "component")]
        any_component: bool,
        /// Refuse evidence made more than SECONDS ago.
        #[arg(long, value_name = "SECONDS")]
        max_age: Option<u64>,
        /// Print `{"verified":true,"signer","evidence":{…}}`, or
        /// `{"verified":false,"code","message"}`.
        #[arg(long)]
        json: bool,
    },
}

impl AttestCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            AttestCommand::Verify {
                component,
                provenance,
                key,
                plan,
                json,
            } => verify_provenance(component, provenance, key, plan, json),
            AttestCommand::VerifyEvidence {
                evidence,
                key,
                nonce,
                plan,
                component,
                any_component: _,
                max_age,
                json,
            } => super::evidence::verify(super::evidence::Args {
                evidence,
                key,
                nonce,
                plan,
                component,
                max_age,
                json,
            }),
        }
    }
}

/// `attest verify`.
fn verify_provenance(
    component: PathBuf,
    provenance: PathBuf,
    key: Vec<PathBuf>,
    plan: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    let bytes = io::read(&component)?;
    let bundle = io::read(&provenance)?;
    let mut signers = Vec::new();
    for k in &key {
        signers.push(Accepted::Key(PublicKey::read(k)?));
    }
    let policy = policy(signers, 1, None)?;
    let name = component.display().to_string();
    let files = [BundleFile {
        origin: provenance.display().to_string(),
        json: bundle,
    }];
    let verified = match verify::verify(&name, &Artifact::new(&bytes), &files, "", &policy) {
        Ok(v) => v,
        Err(e) => return refused(&e, json),
    };
    let Some(claim) = verified
        .claims
        .iter()
        .find(|c| c.predicate_type == PREDICATE_TYPE)
    else {
        let e = TrustError::new(
            Code::TrustMalformedBundle,
            format!(
                "`{}` is signed, but it is not a provenance statement (its predicate type is not `{PREDICATE_TYPE}`); pass the file `emit build --provenance` wrote",
                provenance.display()
            ),
        );
        return refused(&e, json);
    };
    let named = Named::of(&claim.predicate);
    let plan_digest = match &plan {
        Some(p) => match check_plan(p, &named)? {
            Ok(d) => Some(d),
            Err(e) => return refused(&e, json),
        },
        None => None,
    };
    if json {
        io::println(json!({
            "verified": true,
            "component": component,
            "digest": verified.digest.to_string(),
            "plan_digest": named.plan.map(|d| d.to_string()),
            "plan_checked": plan_digest.is_some(),
            "builder": named.builder,
            "signers": verified.signers,
        }))?;
    } else {
        eprintln!(
            "verified the provenance of {} ({}): built by {} from the plan {}{}, signed by {}",
            component.display(),
            verified.digest,
            named.builder,
            named
                .plan
                .map_or_else(|| "(none named)".into(), |d| d.to_string()),
            if plan_digest.is_some() {
                ", whose inputs are the ones named"
            } else {
                ""
            },
            verified.signers.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a provenance predicate names.
struct Named {
    plan: Option<Digest>,
    /// Component name → digest (`resolvedDependencies` named `components.NAME`).
    inputs: BTreeMap<String, Option<Digest>>,
    builder: String,
}

impl Named {
    fn of(predicate: &Value) -> Named {
        let sha256 = |v: &Value| {
            v["digest"]["sha256"]
                .as_str()
                .and_then(|h| format!("sha256:{h}").parse::<Digest>().ok())
        };
        let definition = &predicate["buildDefinition"];
        let inputs = definition["resolvedDependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let name = d["name"].as_str()?.strip_prefix("components.")?;
                Some((name.to_owned(), sha256(d)))
            })
            .collect();
        let builder = &predicate["runDetails"]["builder"];
        let id = builder["id"].as_str().unwrap_or("an unnamed builder");
        let version = id
            .rsplit('/')
            .next()
            .and_then(|n| builder["version"][n].as_str());
        Named {
            plan: sha256(&definition["externalParameters"]["plan"]),
            inputs,
            builder: match version {
                Some(v) => format!("{id} {v}"),
                None => id.to_owned(),
            },
        }
    }
}

/// Resolves `plan` again and compares it and its inputs with what the statement names.
fn check_plan(
    plan: &std::path::Path,
    named: &Named,
) -> Result<std::result::Result<Digest, TrustError>> {
    let mut options = EmitOptions::default();
    if let Some(store) = compose_build::BlobStore::default_location() {
        options = options.cache(store, true);
    }
    let emitted = match compose_build::emit(plan, &options) {
        Ok(e) => e,
        Err(e) => {
            eprint!("{}", e.render());
            return Ok(Err(TrustError::new(
                Code::TrustProvenanceMismatch,
                format!(
                    "the plan `{}` does not emit here, so its inputs cannot be compared with the provenance's",
                    plan.display()
                ),
            )));
        }
    };
    if named.plan != Some(emitted.plan_digest) {
        return Ok(Err(TrustError::new(
            Code::TrustPlanMismatch,
            format!(
                "the provenance names the plan {}, but `{}` is {}",
                named
                    .plan
                    .map_or_else(|| "(none)".into(), |d| d.to_string()),
                plan.display(),
                emitted.plan_digest
            ),
        )));
    }
    let now: BTreeMap<String, Option<Digest>> = emitted
        .inputs
        .iter()
        .map(|(n, d)| (n.clone(), Some(*d)))
        .collect();
    if now != named.inputs {
        let differ: Vec<String> = now
            .keys()
            .chain(named.inputs.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|n| now.get(*n) != named.inputs.get(*n))
            .map(|n| {
                let show = |d: Option<&Option<Digest>>| match d {
                    Some(Some(d)) => d.to_string(),
                    Some(None) => "no digest".to_owned(),
                    None => "absent".to_owned(),
                };
                format!(
                    "`{n}`: named {}, resolves to {}",
                    show(named.inputs.get(n)),
                    show(now.get(n))
                )
            })
            .collect();
        return Ok(Err(TrustError::new(
            Code::TrustProvenanceMismatch,
            format!(
                "the provenance names other inputs than `{}` resolves to: {}",
                plan.display(),
                differ.join("; ")
            ),
        )));
    }
    Ok(Ok(emitted.plan_digest))
}
