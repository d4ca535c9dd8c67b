//! Checking an embedded composition's signature at load, against keys the application gives
//! (`Builder::require_signature`): the bundles the build embedded must include a composition
//! statement, by one of those keys, naming this component and this plan.

use compose_model::{Code, Digest};
use compose_trust::PublicKey;
use compose_trust::verify::{self, Accepted, Artifact, BundleFile, Policy};

use crate::{Embedded, ExecError};

fn refused(e: compose_trust::TrustError) -> ExecError {
    ExecError::new(e.code, e.message)
}

/// Refuses `embedded` unless one of `keys` signed a statement that its component is the
/// composition of its plan. Runs after the digests were checked, on the very bytes that are
/// then compiled. Returns whether a verified statement also names the embedded precompiled
/// code: only then may it run instead of the signed component compiled at load.
pub(crate) fn check_embedded(embedded: &Embedded, keys: &[PublicKey]) -> Result<bool, ExecError> {
    let signers = keys.iter().cloned().map(Accepted::Key).collect();
    let policy = Policy::new(signers)
        .and_then(|p| p.threshold(1))
        .map_err(|_| {
            ExecError::new(
                Code::TrustKey,
                format!(
                    "`{}` must be signed, but the application named no key to check it with; pass the release key to `require_signature`",
                    embedded.name
                ),
            )
        })?;
    let bundles: Vec<BundleFile> = embedded
        .bundles
        .iter()
        .enumerate()
        .map(|(i, b)| BundleFile {
            origin: format!("embedded bundle {i}"),
            json: b.as_bytes().to_vec(),
        })
        .collect();
    let plan = Digest::of(embedded.plan);
    let verified = verify::verify(
        embedded.name,
        &Artifact::new(embedded.component),
        &bundles,
        "none was embedded at build time: sign the composition (`composectl emit build --sign-key`, or `Config::sign_key`) before building",
        &policy.plan(plan),
    )
    .map_err(refused)?;
    // The build's own statement, embedded first, also names the precompiled code.
    let code = embedded.precompiled.map(|p| Digest::of(p.code));
    let covers_code = code.is_some_and(|code| {
        verified
            .claims
            .iter()
            .any(|c| c.plan == Some(plan) && c.precompiled == Some(code))
    });
    Ok(covers_code)
}
