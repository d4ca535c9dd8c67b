//! `exec --require-signature`: the host's own check of the composed component's signature.

use std::path::Path;

use compose_build::BlobStore;
use compose_model::blobs::Private;
use compose_model::plan::Plan;

use super::HostTrust;

/// The host's requirement: `component` must be signed by a `--trust-key`, and when it runs
/// under `plan`, by a composition statement that names that plan. Bundles are looked for in
/// `store` too; a result that verified before is taken from `cache`, that store when it was
/// found private and the cache is not turned off (`compose_trust::cache`).
pub(super) fn host_signature(
    trust: &HostTrust,
    artifact: compose_trust::Artifact,
    wasm: Option<&Path>,
    plan: Option<&Plan>,
    store: Option<&BlobStore>,
    cache: Option<Private<'_>>,
) -> Result<Vec<String>, compose_trust::TrustError> {
    use compose_model::{Code, Digest};
    use compose_trust::locate::{self, Found};
    use compose_trust::verify::Accepted;

    let mut signers = Vec::new();
    for k in &trust.trust_key {
        signers.push(Accepted::Key(compose_trust::PublicKey::read(k)?));
    }
    let mut policy = crate::commands::trust::policy(signers, 1, trust.trusted_root.as_deref())?;
    if let Some(plan) = plan {
        policy = policy.plan(Digest::of(&plan.to_cbor()));
    }
    let mut found = Found::default();
    for b in &trust.bundle {
        if !b.is_file() {
            return Err(compose_trust::TrustError::new(
                Code::TrustUnsigned,
                format!("`--bundle {}`: no such file", b.display()),
            ));
        }
        found.file(b);
    }
    if let Some(w) = wasm {
        found.file(&locate::beside(w));
    }
    if let Some(s) = store {
        found.store(s, &artifact.digest());
    }
    let name = wasm.map_or_else(
        || "the composed component".to_owned(),
        |w| w.display().to_string(),
    );
    let verified = compose_trust::cache::verify(
        cache,
        &name,
        &artifact,
        &found.bundles,
        &found.searched(),
        &policy,
    )?;
    // One write: stderr is unbuffered, and a formatted digest would go out two hex digits per
    // system call.
    let line = format!(
        "verified {name} ({}): signed by {}\n",
        artifact.digest(),
        verified.signers.join(", ")
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    Ok(verified.signers)
}
