//! The statement that signs a composition: an in-toto Statement v1 whose subject is the
//! composed component and whose predicate names the plan it runs under, so a signature covers
//! the grants too, not only the bytes.
//!
//! The predicate type is this project's, [`COMPOSITION_PREDICATE`]:
//!
//! ```json
//! { "plan": { "digest": { "sha256": "<hex of the plan's canonical CBOR>" } },
//!   "precompiled": { "digest": { "sha256": "<hex>" } } }
//! ```
//!
//! `precompiled`, when present, names machine code compiled from the component at build time,
//! so a binary that checks the statement may run that code instead of compiling the signed
//! component itself.

use compose_model::{Code, Digest};
use serde_json::json;
use sigstore_types::Sha256Hash;
/// An in-toto Statement v1 (Sigstore's type).
pub use sigstore_types::intoto::Statement;
use sigstore_types::intoto::Subject;

use crate::error::{TrustError, fail};

/// The predicate type of a composition statement.
pub const COMPOSITION_PREDICATE: &str = "https://example.invalid/compose/composition/v1";

/// A statement that `component` (named `name`, e.g. its file name) is the composition of the
/// plan whose canonical CBOR has digest `plan`.
pub fn composition(name: &str, component: &Digest, plan: &Digest) -> Statement {
    composition_with_code(name, component, plan, None)
}

/// [`composition`], also naming the code precompiled from the component.
pub fn composition_with_code(
    name: &str,
    component: &Digest,
    plan: &Digest,
    precompiled: Option<&Digest>,
) -> Statement {
    let mut predicate = json!({ "plan": { "digest": { "sha256": plan.hex() } } });
    if let Some(code) = precompiled {
        predicate["precompiled"] = json!({ "digest": { "sha256": code.hex() } });
    }
    Statement::new(
        vec![Subject::new(name, sha256(component).into())],
        COMPOSITION_PREDICATE,
        predicate,
    )
}

/// What a composition statement claims.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The composed components it names (by SHA-256).
    pub subjects: Vec<Digest>,
    /// The plan it names, for a composition statement (`None` for other predicate types).
    pub plan: Option<Digest>,
    /// The precompiled code it names, if any.
    pub precompiled: Option<Digest>,
    /// The predicate type.
    pub predicate_type: String,
    /// The predicate itself, for predicate types this crate does not read (provenance).
    pub predicate: serde_json::Value,
}

/// Reads the claim of a statement (the payload of a DSSE envelope).
pub fn claim(payload: &[u8]) -> Result<Claim, TrustError> {
    let statement: Statement = serde_json::from_slice(payload).map_err(|e| {
        TrustError::new(
            Code::TrustMalformedBundle,
            format!("the envelope's payload is not an in-toto statement: {e}"),
        )
    })?;
    if statement.type_ != Statement::TYPE_V1 {
        return fail(
            Code::TrustMalformedBundle,
            format!(
                "the statement's `_type` is `{}`, not `{}`",
                statement.type_,
                Statement::TYPE_V1
            ),
        );
    }
    let subjects = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.sha256.as_ref())
        .map(|h| Digest::from_bytes(*h.as_bytes()))
        .collect();
    let plan = if statement.predicate_type == COMPOSITION_PREDICATE {
        let hex = statement.predicate["plan"]["digest"]["sha256"]
            .as_str()
            .unwrap_or_default();
        match format!("sha256:{hex}").parse::<Digest>() {
            Ok(d) => Some(d),
            Err(_) => {
                return fail(
                    Code::TrustMalformedBundle,
                    "the composition statement names no plan digest (`predicate.plan.digest.sha256`)",
                );
            }
        }
    } else {
        None
    };
    let precompiled = statement.predicate["precompiled"]["digest"]["sha256"]
        .as_str()
        .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok());
    Ok(Claim {
        subjects,
        plan,
        precompiled,
        predicate_type: statement.predicate_type,
        predicate: statement.predicate,
    })
}

fn sha256(d: &Digest) -> Sha256Hash {
    Sha256Hash::try_from(&d.as_bytes()[..]).expect("a digest is 32 bytes")
}
