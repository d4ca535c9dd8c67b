//! `composectl emit`: build one composed component from a plan.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;
use compose_build::{BlobStore, EmitOptions};

use crate::io;

mod provenance;

/// Build composed components from plans.
#[derive(Subcommand)]
#[command(defer = true)]
pub enum EmitCommand {
    /// Resolve, check and compose the plan's components into one component.
    ///
    /// `crate` sources are built for wasm32-wasip2 from the nearest Cargo workspace above the
    /// plan (or `--workspace`). Results are cached by content in the blob store
    /// (`$COMPOSE_CACHE_DIR`, else `$XDG_CACHE_HOME/compose`, else `~/.cache/compose`).
    Build {
        /// The plan (TOML or canonical CBOR).
        plan: PathBuf,
        /// Where to write the component. Written atomically (readers see the old file or the
        /// whole new one), not flushed to disk: it is rebuilt from the plan.
        #[arg(short, long)]
        output: PathBuf,
        /// The Cargo workspace `crate` sources come from.
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Where guest crates are built (default: the workspace's `target/`).
        #[arg(long)]
        guest_target_dir: Option<PathBuf>,
        /// The blob store (default: see above).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Compose again even when the cache has the result.
        #[arg(long)]
        no_cache: bool,
        /// A Sigstore `trusted_root.json`, for inputs whose plan accepts keyless signers.
        #[arg(long, value_name = "FILE")]
        trusted_root: Option<PathBuf>,
        /// Sign the composition with this private key: `OUTPUT.sigstore.json` holds an in-toto
        /// statement naming the component and the plan's digest (a copy goes to the blob
        /// store, where `exec` finds it by the component's digest).
        #[arg(long, value_name = "KEY", conflicts_with = "sign_pkcs11")]
        sign_key: Option<PathBuf>,
        /// Sign the composition with a key inside a PKCS#11 token (`PKCS11_MODULE`,
        /// `PKCS11_PIN`), by label.
        #[arg(long, value_name = "LABEL")]
        sign_pkcs11: Option<String>,
        /// Also write the build's provenance to FILE: an in-toto statement with an SLSA
        /// Provenance v1 predicate naming the component, the plan's digest, every input's
        /// source, digest and imports' WIT ids, and the builder, as RFC 8785 canonical JSON.
        /// With `--sign-key`/`--sign-pkcs11`, FILE is a Sigstore bundle holding it in a DSSE
        /// envelope (`composectl attest verify` checks it). The same plan and inputs give the
        /// same bytes: no time unless `--provenance-time`, no absolute path.
        #[arg(long, value_name = "FILE")]
        provenance: Option<PathBuf>,
        /// Record in the provenance when the build started (`runDetails.metadata.startedOn`).
        #[arg(long, requires = "provenance")]
        provenance_time: bool,
        /// Print the result as JSON on stdout: `{"ok":true,"output","bytes","digest",
        /// "plan_digest","cached","bundle","provenance"}`, or `{"ok":false,"errors":[…]}` with the error
        /// objects of `plan validate --json` (exit status as without).
        #[arg(long)]
        json: bool,
    },
}

impl EmitCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let EmitCommand::Build {
            plan,
            output,
            workspace,
            guest_target_dir,
            cache_dir,
            no_cache,
            trusted_root,
            sign_key,
            sign_pkcs11,
            provenance,
            provenance_time,
            json,
        } = self;
        let started_on = provenance_time.then(provenance::now);
        // A refusal: diagnostics for a person on stderr, or the JSON report on stdout.
        let refuse =
            |source: Option<&str>, diags: &[compose_model::plan::Diagnostic], text: &str| {
                if json {
                    io::println(super::report::failure(source, diags))?;
                } else {
                    eprint!("{text}");
                }
                Ok(ExitCode::FAILURE)
            };
        let trust_refusal = |e: compose_trust::TrustError| {
            let d = compose_model::plan::Diagnostic::new(e.code, "", e.message.clone());
            refuse(None, &[d], &format!("{e}\n"))
        };
        // The signing key is opened first: a key that cannot sign stops the build before
        // anything is written.
        let signer = match crate::commands::trust::open_signer(
            sign_key.as_deref(),
            sign_pkcs11.as_deref(),
        ) {
            Ok(s) => s,
            Err(e) => return trust_refusal(e),
        };
        let mut options = EmitOptions::default();
        if let Some(w) = workspace {
            options = options.workspace(w);
        }
        if let Some(t) = guest_target_dir {
            options = options.guest_target_dir(t);
        }
        if let Some(r) = trusted_root {
            options = options.trusted_root(r);
        }
        let store = cache_dir
            .map(BlobStore::new)
            .or_else(BlobStore::default_location);
        if let Some(store) = &store {
            options = options.cache(store.clone(), !no_cache);
        }
        options = options.provenance(provenance.is_some());
        let start = Instant::now();
        // The output is written beside its validation, to a temporary file put in place below.
        let (emitted, prepared) = match compose_build::emit_prepared(&plan, &options, &output) {
            Ok(e) => e,
            Err(e) => {
                let n = e.diagnostics.len();
                let text = format!(
                    "{}error: cannot emit `{}`: {n} error{}\n",
                    e.render(),
                    plan.display(),
                    if n == 1 { "" } else { "s" }
                );
                return refuse(e.source.as_deref(), &e.diagnostics, &text);
            }
        };
        // Signed before anything is written, so a failed signature leaves no output behind.
        let bundle = match &signer {
            Some(signer) => match crate::commands::trust::sign_composition(
                &output,
                &emitted.digest,
                &emitted.plan_digest,
                signer.as_ref(),
            ) {
                Ok(b) => Some(b),
                Err(e) => return trust_refusal(e),
            },
            None => None,
        };
        let provenance_bytes = match &provenance {
            Some(_) => match provenance::make(
                &plan,
                &output,
                &emitted,
                started_on.as_deref(),
                signer.as_deref().map(|s| s as &dyn compose_trust::Signer),
            ) {
                Ok(b) => Some(b),
                Err(e) => return trust_refusal(e),
            },
            None => None,
        };
        // The provenance and the signature are made again by the same command, like the
        // component: written atomically, without waiting for the disk (see `write_rebuildable`).
        match prepared {
            Ok(prepared) => prepared
                .commit()
                .with_context(|| format!("failed to write `{}`", output.display()))?,
            // (written again, to report what fails the usual way)
            Err(_) => io::write_rebuildable(&output, &emitted.bytes)?,
        }
        if let (Some(file), Some(bytes)) = (&provenance, &provenance_bytes) {
            io::write_rebuildable(file, bytes)?;
        }
        let beside = compose_trust::locate::beside(&output);
        if let (Some(bundle), Some(signer)) = (&bundle, &signer) {
            io::write_rebuildable(&beside, bundle.as_bytes())?;
            if let Some(store) = &store {
                let dir = compose_trust::locate::in_store(store, &emitted.digest);
                // Named by key and plan: plans that compose to the same bytes (differing in
                // grants only) each keep their statement.
                let name = format!(
                    "{}-plan-{}{}",
                    signer.public_key().fingerprint().replace(':', "-"),
                    emitted.plan_digest.hex(),
                    compose_trust::BUNDLE_SUFFIX
                );
                // The store's copy is a convenience; the bundle beside the output is the one
                // written for sure.
                let _ = std::fs::create_dir_all(&dir).and_then(|()| {
                    compose_model::blobs::write_rebuildable(&dir.join(name), bundle.as_bytes())
                });
            }
            if !json {
                eprintln!(
                    "signed the composition with {}: {}",
                    signer.public_key().fingerprint(),
                    beside.display()
                );
            }
        }
        if json {
            io::println(serde_json::json!({
                "ok": true,
                "output": output.display().to_string(),
                "bytes": emitted.bytes.len(),
                "digest": emitted.digest.to_string(),
                "plan_digest": emitted.plan_digest.to_string(),
                "cached": emitted.cached,
                "bundle": bundle.as_ref().map(|_| beside.display().to_string()),
                "provenance": provenance.as_ref().map(|p| p.display().to_string()),
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        // One write: standard error is unbuffered, and a formatted line would otherwise be
        // written piece by piece.
        let line = format!(
            "{} {} ({} bytes, {}) in {:.0?}{}\n",
            if emitted.cached { "reused" } else { "composed" },
            output.display(),
            emitted.bytes.len(),
            emitted.digest,
            start.elapsed(),
            if emitted.cached {
                " from the cache"
            } else {
                ""
            },
        );
        eprint!("{line}");
        Ok(ExitCode::SUCCESS)
    }
}
