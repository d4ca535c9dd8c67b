//! `composectl trust`: make keys, sign components and compositions as Sigstore bundles, and
//! verify bundles offline.
//!
//! Exit codes: 0 done (verified), 1 refused (the coded reason is printed), 2 usage or I/O.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use compose_model::Digest;
use compose_trust::pkcs11::TokenKey;
use compose_trust::verify::{self, Accepted, Artifact, BundleFile, Policy, TrustedRoot};
use compose_trust::{PublicKey, Signer, SigningKey, TrustError, keys, locate, sign, statement};
use serde_json::json;

use crate::io;

/// Sign and verify components and compositions (Sigstore bundles v0.3, offline).
#[derive(Subcommand)]
#[command(defer = true)]
pub enum TrustCommand {
    /// Generate an ECDSA P-256 key: KEY (PKCS#8 PEM, mode 0600) and KEY.pub (PEM
    /// SubjectPublicKeyInfo, as cosign writes `cosign.pub`). Never overwrites a file.
    Keygen {
        /// The private key's path; the public key goes to `KEY.pub`.
        #[arg(short, long, value_name = "KEY")]
        output: PathBuf,
        /// Print `{"private","public","key","algorithm"}`.
        #[arg(long)]
        json: bool,
    },
    /// Sign an artifact's bytes (`messageSignature`), or with `--plan` a composition: an
    /// in-toto statement naming the component and the plan it runs under (`dsseEnvelope`).
    ///
    /// The bundle has no transparency-log entry (there is none offline): `cosign verify-blob`
    /// checks it with `--insecure-ignore-tlog`.
    Sign {
        /// The component (or any file) to sign.
        artifact: PathBuf,
        #[command(flatten)]
        key: SignWith,
        /// Sign the composition of this plan (TOML or CBOR): the statement names its digest.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Where to write the bundle (default: `ARTIFACT.sigstore.json`).
        #[arg(short, long, value_name = "BUNDLE")]
        output: Option<PathBuf>,
        /// Print `{"bundle","digest","key","content"}`.
        #[arg(long)]
        json: bool,
    },
    /// Verify an artifact against bundles, with a public key or a keyless identity; offline,
    /// against `--trusted-root` for keyless bundles (there is no built-in root). Exit 0
    /// verified, 1 refused (with its code), 2 usage or I/O error.
    Verify {
        /// The artifact whose bytes were signed.
        artifact: PathBuf,
        /// A bundle (repeatable; default: `ARTIFACT.sigstore.json`). Bundles v0.1 to v0.3.
        #[arg(long, value_name = "BUNDLE")]
        bundle: Vec<PathBuf>,
        /// An accepted public key (PEM; repeatable).
        #[arg(
            long,
            value_name = "PUB",
            required_unless_present = "certificate_identity"
        )]
        key: Vec<PathBuf>,
        /// The keyless signer's certificate identity (its email or URI, exactly).
        #[arg(long, value_name = "ID", requires = "certificate_oidc_issuer")]
        certificate_identity: Option<String>,
        /// The keyless signer's OIDC issuer URL, exactly.
        #[arg(long, value_name = "URL", requires = "certificate_identity")]
        certificate_oidc_issuer: Option<String>,
        /// A Sigstore `trusted_root.json` (needed for keyless bundles).
        #[arg(long, value_name = "FILE")]
        trusted_root: Option<PathBuf>,
        /// How many distinct accepted signers must have signed.
        #[arg(long, default_value_t = 1)]
        threshold: usize,
        /// Print `{"verified","artifact","digest","signers","bundles","plans"}`, or
        /// `{"verified":false,"code","message"}`.
        #[arg(long)]
        json: bool,
    },
}

/// A signing key: a file, or a key inside a PKCS#11 token.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct SignWith {
    /// The private key (PKCS#8 PEM, readable by its owner only).
    #[arg(long, value_name = "KEY")]
    key: Option<PathBuf>,
    /// A key inside a PKCS#11 token, by label (or `pkcs11:token=T;object=L`); the module is
    /// `PKCS11_MODULE` (default: SoftHSM2's), the PIN `PKCS11_PIN`.
    #[arg(long, value_name = "LABEL")]
    pkcs11: Option<String>,
}

impl SignWith {
    /// Opens the key.
    pub fn open(&self) -> Result<Box<dyn Signer>, TrustError> {
        let opened = open_signer(self.key.as_deref(), self.pkcs11.as_deref())?;
        Ok(opened.expect("clap requires one of --key and --pkcs11"))
    }
}

/// Opens a signing key: a private key file, or a key inside a PKCS#11 token by label; `None`
/// when neither is given.
pub fn open_signer(
    key: Option<&Path>,
    pkcs11: Option<&str>,
) -> Result<Option<Box<dyn Signer + Send>>, TrustError> {
    Ok(match (key, pkcs11) {
        (Some(k), _) => Some(Box::new(SigningKey::read(k)?)),
        (None, Some(label)) => Some(Box::new(TokenKey::from_env(label)?)),
        (None, None) => None,
    })
}

/// Prints a coded refusal (or its JSON) and returns exit code 1.
pub fn refused(e: &TrustError, json: bool) -> Result<ExitCode> {
    if json {
        io::println(json!({ "verified": false, "code": e.code.as_str(), "message": e.message }))?;
    } else {
        eprintln!("{e}");
    }
    Ok(ExitCode::FAILURE)
}

impl TrustCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            TrustCommand::Keygen { output, json } => {
                let made = match keys::generate(&output) {
                    Ok(m) => m,
                    Err(e) => return refused(&e, json),
                };
                if json {
                    io::println(json!({
                        "private": made.private,
                        "public": made.public,
                        "key": made.key.fingerprint(),
                        "algorithm": made.key.algorithm().as_str(),
                    }))?;
                } else {
                    eprintln!(
                        "wrote {} (private, mode 0600) and {} ({})",
                        made.private.display(),
                        made.public.display(),
                        made.key.fingerprint()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            TrustCommand::Sign {
                artifact,
                key,
                plan,
                output,
                json,
            } => {
                let bytes = io::read(&artifact)?;
                let plan_digest = match &plan {
                    Some(p) => match load_plan_digest(p)? {
                        Some(d) => Some(d),
                        None => return Ok(ExitCode::FAILURE),
                    },
                    None => None,
                };
                let signer = match key.open() {
                    Ok(s) => s,
                    Err(e) => return refused(&e, json),
                };
                let out = output.unwrap_or_else(|| locate::beside(&artifact));
                let digest = Digest::of(&bytes);
                let signed = match plan_digest {
                    Some(p) => sign_composition(&artifact, &digest, &p, signer.as_ref()),
                    None => sign::sign_artifact(&bytes, signer.as_ref()),
                };
                let bundle = match signed {
                    Ok(b) => b,
                    Err(e) => return refused(&e, json),
                };
                io::write(Some(&out), bundle.as_bytes())?;
                let content = if plan_digest.is_some() {
                    "dsseEnvelope"
                } else {
                    "messageSignature"
                };
                if json {
                    io::println(json!({
                        "bundle": out,
                        "digest": digest.to_string(),
                        "key": signer.public_key().fingerprint(),
                        "content": content,
                        "plan": plan_digest.map(|d| d.to_string()),
                    }))?;
                } else {
                    eprintln!(
                        "signed {} ({digest}) with {}: {}",
                        artifact.display(),
                        signer.public_key().fingerprint(),
                        out.display()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            TrustCommand::Verify {
                artifact,
                bundle,
                key,
                certificate_identity,
                certificate_oidc_issuer,
                trusted_root,
                threshold,
                json,
            } => {
                let bytes = io::read(&artifact)?;
                // A key or trusted root that cannot be read, or an impossible threshold, is a
                // usage error (exit 2), not a refusal of the artifact.
                let mut signers = Vec::new();
                for k in &key {
                    let k = PublicKey::read(k)?;
                    signers.push(Accepted::Key(k));
                }
                if let (Some(identity), Some(issuer)) =
                    (certificate_identity, certificate_oidc_issuer)
                {
                    signers.push(Accepted::Identity { identity, issuer });
                }
                // The default bundle may be missing (the artifact is unsigned: refused, exit 1);
                // a bundle named on the command line must exist (exit 2).
                let mut found = compose_trust::locate::Found::default();
                if bundle.is_empty() {
                    found.file(&locate::beside(&artifact));
                }
                let mut files = found.bundles.clone();
                for b in &bundle {
                    let json = std::fs::read(b)
                        .with_context(|| format!("failed to read the bundle `{}`", b.display()))?;
                    files.push(BundleFile {
                        origin: b.display().to_string(),
                        json,
                    });
                }
                let policy = policy(signers, threshold, trusted_root.as_deref())?;
                let name = artifact.display().to_string();
                match verify::verify(
                    &name,
                    &Artifact::new(&bytes),
                    &files,
                    &found.searched(),
                    &policy,
                ) {
                    Ok(v) => {
                        if json {
                            io::println(json!({
                                "verified": true,
                                "artifact": artifact,
                                "digest": v.digest.to_string(),
                                "signers": v.signers,
                                "bundles": v.bundles,
                                "plans": v.plans().iter().map(Digest::to_string).collect::<Vec<_>>(),
                            }))?;
                        } else {
                            eprintln!(
                                "verified {} ({}): signed by {}",
                                artifact.display(),
                                v.digest,
                                v.signers.join(", ")
                            );
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => refused(&e, json),
                }
            }
        }
    }
}

/// A policy for `signers`, `threshold` of them, with the trusted root if given.
pub fn policy(
    signers: Vec<Accepted>,
    threshold: usize,
    trusted_root: Option<&Path>,
) -> Result<Policy, TrustError> {
    let mut p = Policy::new(signers)?.threshold(threshold)?;
    if let Some(r) = trusted_root {
        p = p.trusted_root(&TrustedRoot::read(r)?)?;
    }
    Ok(p)
}

/// A bundle holding the composition statement for the component at `artifact`.
pub fn sign_composition(
    artifact: &Path,
    digest: &Digest,
    plan: &Digest,
    signer: &dyn Signer,
) -> Result<String, TrustError> {
    let name = artifact
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    sign::sign_statement(&statement::composition(&name, digest, plan), signer)
}

/// The digest of a plan file's canonical CBOR, printing its errors when it is invalid.
fn load_plan_digest(path: &Path) -> Result<Option<Digest>> {
    let bytes = io::read(path)?;
    let (result, source) = compose_model::plan::from_file_bytes(path, &bytes);
    match result {
        Ok(p) => Ok(Some(Digest::of(&p.to_cbor()))),
        Err(d) => {
            eprint!(
                "{}",
                compose_model::plan::render(&path.display().to_string(), source.as_deref(), &d)
            );
            Ok(None)
        }
    }
}
