//! `emit build --provenance FILE`: the build's SLSA provenance (`compose_build::provenance`),
//! as RFC 8785 canonical JSON, or signed in a Sigstore bundle (a DSSE envelope carrying those
//! bytes) when the build signs.

use std::path::Path;

use compose_build::Emitted;
use compose_build::provenance::{self, Provenance};
use compose_trust::{Signer, TrustError, sign};

/// The builder id statements name; `…/composectl` with the version in `runDetails`.
pub const BUILDER_ID: &str = "https://example.invalid/compose/composectl";

/// When the build started, to the second, for `--provenance-time`.
pub fn now() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// The provenance file's bytes: the statement for `emitted`, naming the plan and the output by
/// their file names; signed when there is a `signer`.
pub fn make(
    plan_path: &Path,
    output: &Path,
    emitted: &Emitted,
    started_on: Option<&str>,
    signer: Option<&dyn Signer>,
) -> Result<Vec<u8>, TrustError> {
    let name = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let statement = provenance::statement(
        emitted,
        &Provenance {
            subject: &name(output),
            plan: &name(plan_path),
            builder: BUILDER_ID,
            builder_version: env!("CARGO_PKG_VERSION"),
            started_on,
        },
    );
    let mut canonical = provenance::to_canonical_json(&statement);
    match signer {
        Some(s) => sign::sign_in_toto(canonical, s).map(String::into_bytes),
        None => {
            canonical.push(b'\n');
            Ok(canonical)
        }
    }
}
