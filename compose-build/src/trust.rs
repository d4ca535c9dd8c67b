//! Signature requirements at emit: every `path` or `blob` input whose plan says
//! `trust.require-signature = true` must carry bundles from its accepted signers, checked over
//! the very bytes, in memory, that are then composed (the file is not read again).
//!
//! A `pkcs11` signer is the public key of that label in the PKCS#11 token (`PKCS11_MODULE`),
//! read at each emit.
//!
//! Bundles are looked for beside a `path` input (`X.wasm.sigstore.json`) and in the blob store
//! under the input's digest. This runs on every emit, a cache hit included: the emit key
//! covers the bytes and the plan, not the bundles.

use std::collections::BTreeMap;
use std::path::Path;

use compose_model::Code;
use compose_model::plan::{Diagnostic, Plan, Signer, Source};
use compose_trust::PublicKey;
use compose_trust::locate::{self, Found};
use compose_trust::verify::{Accepted, Artifact, Policy, TrustedRoot};

use crate::EmitOptions;
use crate::source::Resolved;

/// Checks the signature of every input that requires one; refusals go to `diags`, each at
/// its component's `trust` path.
pub(crate) fn check_signatures(
    plan: &Plan,
    base: &Path,
    options: &EmitOptions,
    resolved: &BTreeMap<String, Resolved>,
    diags: &mut Vec<Diagnostic>,
) {
    let required: Vec<_> = plan
        .components
        .iter()
        .filter_map(|(n, c)| Some((n, c, c.trust.as_ref().filter(|t| t.require_signature)?)))
        .collect();
    if required.is_empty() {
        // A root given for nothing would be silently ignored: say so instead.
        if let Some(root) = &options.trusted_root {
            diags.push(Diagnostic::new(
                Code::TrustRootUnused,
                "",
                format!(
                    "a trusted root (`{}`) was given, but no component of this plan requires a signature, so nothing would be checked with it; remove it (`--trusted-root`, `Config::trusted_root`), or require signatures under `components.NAME.trust`",
                    root.display()
                ),
            ));
        }
        return;
    }
    let root = match options.trusted_root.as_deref().map(TrustedRoot::read) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            diags.push(Diagnostic::new(e.code, "", e.message));
            return;
        }
    };
    for (name, c, trust) in required {
        let at = format!("components.{name}.trust");
        let Some(input) = resolved.get(name) else {
            continue; // its source could not be read, which is reported already
        };
        let mut signers = Vec::new();
        for (i, s) in trust.signers.iter().enumerate() {
            match s {
                Signer::Key(value) => match PublicKey::from_plan_value(value, base) {
                    Ok(k) => signers.push(Accepted::Key(k)),
                    Err(e) => diags.push(Diagnostic::new(
                        e.code,
                        format!("{at}.signers[{i}]"),
                        format!("`{name}`'s signer: {}", e.message),
                    )),
                },
                Signer::Sigstore { identity, issuer } => signers.push(Accepted::Identity {
                    identity: identity.clone(),
                    issuer: issuer.clone(),
                }),
                Signer::Pkcs11(label) => {
                    match compose_trust::pkcs11::verifying_key_from_env(label) {
                        Ok(k) => signers.push(Accepted::Key(k)),
                        Err(e) => diags.push(Diagnostic::new(
                            e.code,
                            format!("{at}.signers[{i}]"),
                            format!("`{name}`'s signer `{label}`: {}", e.message),
                        )),
                    }
                }
                other => diags.push(Diagnostic::new(
                    Code::PlanNotImplemented,
                    format!("{at}.signers[{i}]"),
                    format!(
                        "`{name}` accepts a signer this build cannot check ({other:?}); remove it"
                    ),
                )),
            }
        }
        if signers.len() != trust.signers.len() {
            // Every signer that could not be used has a diagnostic above, so this input is
            // refused, never composed unchecked.
            continue;
        }
        let policy = Policy::new(signers)
            .and_then(|p| p.threshold(trust.threshold.unwrap_or(1) as usize))
            .and_then(|p| match &root {
                Some(r) => p.trusted_root(r),
                None => Ok(p),
            });
        let policy = match policy {
            Ok(p) => p,
            Err(e) => {
                diags.push(Diagnostic::new(e.code, at, e.message));
                continue;
            }
        };
        let mut found = Found::default();
        if let Source::Path(p) = &c.source {
            found.file(&locate::beside(&base.join(p)));
        }
        if let Some(store) = &options.cache {
            found.store(store, &input.input.digest());
        }
        if let Err(e) = compose_trust::cache::verify(
            options
                .cache
                .as_ref()
                .filter(|_| options.use_cache)
                .and_then(compose_model::blobs::BlobStore::private),
            name,
            &Artifact::new(&input.input.bytes),
            &found.bundles,
            &found.searched(),
            &policy,
        ) {
            let hint = match e.code {
                Code::TrustNoTrustedRoot => "; `emit build --trusted-root FILE`",
                _ => "",
            };
            diags.push(Diagnostic::new(
                e.code,
                at,
                format!("component {}{hint}", e.message),
            ));
        }
    }
}
