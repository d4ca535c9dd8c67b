//! Remembering what verified, so a warm run does not check the same signatures again.
//!
//! A verification is a pure function of the artifact, its bundles and the policy (signers,
//! threshold, trusted root, required plan): keyless checks use the verified signing time,
//! never "now". So a result is kept in the blob store under
//! `H("verify:v1" ‖ artifact digest ‖ policy key ‖ each bundle's digest, in order)`, and
//! found again only for the same bytes, the same bundles and the same policy.
//!
//! Only successes are kept (a refusal is checked again, so its message is always current), and
//! only in a store that no one but this user can change
//! ([`compose_model::blobs::BlobStore::is_private`]): whoever
//! can write the entry could otherwise vouch for anything.

use compose_model::Digest;
use compose_model::blobs::Private;
use serde::{Deserialize, Serialize};

use crate::error::TrustError;
use crate::statement::Claim;
use crate::verify::{self, Artifact, BundleFile, Policy, Verified};

/// The kind of the store's keys that point at verification results.
const KIND: &str = "verify";

/// [`verify::verify`], answered from `store` when these very bytes, bundles and policy
/// verified before. Only a store found private is taken (`BlobStore::private`).
pub fn verify(
    store: Option<Private<'_>>,
    subject: &str,
    artifact: &Artifact,
    bundles: &[BundleFile],
    searched: &str,
    policy: &Policy,
) -> Result<Verified, TrustError> {
    let Some(store) = store.map(Private::store) else {
        return verify::verify(subject, artifact, bundles, searched, policy);
    };
    let key = key(artifact, bundles, policy);
    if let Some(hit) = store
        .get_key(KIND, &key)
        .and_then(|(_, json)| recall(&json, artifact, bundles))
    {
        return Ok(hit);
    }
    let verified = verify::verify(subject, artifact, bundles, searched, policy)?;
    // A result not written is checked again next time: nothing is lost.
    if let Ok(json) = serde_json::to_vec(&Record::of(&verified, bundles))
        && let Ok(d) = store.put(&json)
    {
        let _ = store.set_key(KIND, &key, &d);
    }
    Ok(verified)
}

/// The store key a result for these inputs is kept under (no secret: anyone can compute it,
/// which is why only a private store is used).
pub fn key(artifact: &Artifact, bundles: &[BundleFile], policy: &Policy) -> Digest {
    let mut text = format!("verify:v1\n{}\n{}\n", artifact.digest(), policy.cache_key());
    for b in bundles {
        text.push_str(&Digest::of(&b.json).to_string());
        text.push('\n');
    }
    Digest::of(text.as_bytes())
}

/// A result as stored: bundles by their place in the list (their origins may have moved).
#[derive(Serialize, Deserialize)]
struct Record {
    signers: Vec<String>,
    bundles: Vec<usize>,
    claims: Vec<RecordedClaim>,
}

#[derive(Serialize, Deserialize)]
struct RecordedClaim {
    subjects: Vec<String>,
    plan: Option<String>,
    precompiled: Option<String>,
    predicate_type: String,
    /// A record stored before the predicate was kept reads back as `null`.
    #[serde(default)]
    predicate: serde_json::Value,
}

impl Record {
    fn of(v: &Verified, bundles: &[BundleFile]) -> Record {
        Record {
            signers: v.signers.clone(),
            bundles: v
                .bundles
                .iter()
                .filter_map(|o| bundles.iter().position(|b| &b.origin == o))
                .collect(),
            claims: v
                .claims
                .iter()
                .map(|c| RecordedClaim {
                    subjects: c.subjects.iter().map(Digest::to_string).collect(),
                    plan: c.plan.map(|d| d.to_string()),
                    precompiled: c.precompiled.map(|d| d.to_string()),
                    predicate_type: c.predicate_type.clone(),
                    predicate: c.predicate.clone(),
                })
                .collect(),
        }
    }
}

/// The stored result, or `None` (and a fresh check) if it does not read back whole.
fn recall(json: &[u8], artifact: &Artifact, bundles: &[BundleFile]) -> Option<Verified> {
    let r: Record = serde_json::from_slice(json).ok()?;
    let digest = |s: &String| s.parse::<Digest>().ok();
    let optional = |s: &Option<String>| match s {
        Some(s) => digest(s).map(Some),
        None => Some(None),
    };
    let claims = r
        .claims
        .iter()
        .map(|c| {
            Some(Claim {
                subjects: c.subjects.iter().map(digest).collect::<Option<_>>()?,
                plan: optional(&c.plan)?,
                precompiled: optional(&c.precompiled)?,
                predicate_type: c.predicate_type.clone(),
                predicate: c.predicate.clone(),
            })
        })
        .collect::<Option<_>>()?;
    let origins = r
        .bundles
        .iter()
        .map(|&i| bundles.get(i).map(|b| b.origin.clone()))
        .collect::<Option<_>>()?;
    Some(Verified {
        digest: artifact.digest(),
        signers: r.signers,
        claims,
        bundles: origins,
    })
}
