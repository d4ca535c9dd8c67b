//! Checking an artifact's bundles against the signers a plan or a host accepts.
//!
//! The verifying key or identity always comes from the policy, never from the bundle (its
//! `publicKey.hint` only sharpens an error message). Each bundle is checked by
//! `sigstore-verify`: for keyed bundles the signature with each accepted key; for keyless
//! ones the Fulcio chain, the SCT, the transparency-log entry or RFC 3161 timestamps, all at
//! the verified signing time, and the certificate's identity and issuer, against the trusted
//! root the user gave (there is no built-in one).

use std::collections::BTreeSet;

use compose_model::{Code, Digest};
use sigstore_types::Bundle;
use sigstore_types::bundle::{SignatureContent, VerificationMaterialContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy};

use crate::error::{TrustError, fail};
use crate::keys::PublicKey;
pub use crate::policy::{Policy, TrustedRoot};
use crate::statement::{self, Claim};

/// A signer whose signature is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// A public key.
    Key(PublicKey),
    /// A keyless (Fulcio) signer: the certificate's identity and its OIDC issuer.
    Identity {
        /// The certificate's subject alternative name (an email or URI), exactly.
        identity: String,
        /// The OIDC issuer URL, exactly.
        issuer: String,
    },
}

impl Accepted {
    /// How messages name the signer.
    pub fn describe(&self) -> String {
        match self {
            Accepted::Key(k) => format!("key {}", k.fingerprint()),
            Accepted::Identity { identity, issuer } => {
                format!("identity `{identity}` (issuer `{issuer}`)")
            }
        }
    }
}

/// The bytes to check and their SHA-256, taken once: the digest finds the store's bundles,
/// matches bundles and statements to the artifact, and (for ECDSA) is what was signed; the
/// caller may hand the same [`Hashed`](compose_model::Hashed) on to the compiled-code cache.
pub type Artifact<'a> = compose_model::Hashed<&'a [u8]>;

/// A bundle's JSON and where it came from (for messages).
#[derive(Clone, Debug)]
pub struct BundleFile {
    /// Where it was found (a path, or "the blob store").
    pub origin: String,
    /// Its JSON text.
    pub json: Vec<u8>,
}

/// What verified.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Verified {
    /// The artifact's digest.
    pub digest: Digest,
    /// Each accepted signer that signed, as [`Accepted::describe`] names it.
    pub signers: Vec<String>,
    /// The claims of the verified statements (DSSE bundles), for checking the plan they name.
    pub claims: Vec<Claim>,
    /// Which bundles verified, by origin.
    pub bundles: Vec<String>,
}

impl Verified {
    /// The plans named by verified composition statements.
    pub fn plans(&self) -> BTreeSet<Digest> {
        self.claims.iter().filter_map(|c| c.plan).collect()
    }
}

/// Checks `artifact` (named `subject` in messages) against its `bundles` under `policy`.
/// `searched` says where bundles were looked for, for the message when there are none.
///
/// Bundles are checked in order, and checking stops as soon as those checked meet the policy
/// (its threshold, and the plan it requires, if any); [`Verified`] then holds what those
/// bundles say. So put the bundle expected to say the most first.
pub fn verify(
    subject: &str,
    artifact: &Artifact,
    bundles: &[BundleFile],
    searched: &str,
    policy: &Policy,
) -> Result<Verified, TrustError> {
    let digest = artifact.digest();
    let names_plan = |claims: &[Claim]| {
        policy
            .plan
            .is_none_or(|p| claims.iter().any(|c| c.plan == Some(p)))
    };
    let expected = policy.expected();
    if bundles.is_empty() {
        return fail(
            Code::TrustUnsigned,
            format!(
                "`{subject}` ({digest}) must be signed by {expected}, but no signature bundle was found ({searched}); sign it with `composectl trust sign` and put the bundle there"
            ),
        );
    }
    let mut signed = BTreeSet::new();
    let mut claims = Vec::new();
    let mut verified = Vec::new();
    let mut refusals: Vec<(String, TrustError)> = Vec::new();
    for b in bundles {
        match check_bundle(artifact, b, policy) {
            Ok((who, claim)) => {
                signed.extend(who);
                claims.extend(claim);
                verified.push(b.origin.clone());
                if signed.len() >= policy.threshold && names_plan(&claims) {
                    break;
                }
            }
            Err(e) => refusals.push((b.origin.clone(), e)),
        }
    }
    if signed.len() >= policy.threshold {
        if let Some(wanted) = policy.plan
            && !names_plan(&claims)
        {
            let named: BTreeSet<Digest> = claims.iter().filter_map(|c| c.plan).collect();
            let named: Vec<String> = named.iter().map(Digest::to_string).collect();
            return fail(
                Code::TrustPlanMismatch,
                format!(
                    "`{subject}` is signed, but no signed statement names the plan it would run under ({wanted}){}; a signature on a composition must cover the grants it runs with: sign the composition of this plan (`composectl emit build --sign-key`, `composectl trust sign {subject} --plan PLAN`, or `Config::sign_key` in a build script)",
                    if named.is_empty() {
                        " (the signatures cover its bytes only)".to_owned()
                    } else {
                        format!(" (they name {})", named.join(", "))
                    }
                ),
            );
        }
        return Ok(Verified {
            digest,
            signers: signed
                .iter()
                .map(|&i| policy.signers[i].describe())
                .collect(),
            claims,
            bundles: verified,
        });
    }
    let reasons: Vec<String> = refusals
        .iter()
        .map(|(origin, e)| format!("`{origin}`: [{}] {}", e.code, e.message))
        .collect();
    if !signed.is_empty() {
        return fail(
            Code::TrustThreshold,
            format!(
                "`{subject}` ({digest}) needs {expected}, but only {} of them signed{}; add bundles from the other signers",
                signed.len(),
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", reasons.join("; "))
                }
            ),
        );
    }
    // With several bundles refused, the most telling reason, whatever their order.
    let rank = |c: Code| {
        [
            Code::TrustBadSignature,
            Code::TrustWrongArtifact,
            Code::TrustCertificate,
            Code::TrustNoTrustedRoot,
            Code::TrustUnknownSigner,
            Code::TrustKey,
        ]
        .iter()
        .position(|&x| x == c)
        .unwrap_or(usize::MAX)
    };
    let code = refusals
        .iter()
        .map(|(_, e)| e.code)
        .min_by_key(|&c| rank(c))
        .unwrap_or(Code::TrustUnsigned);
    fail(
        code,
        format!(
            "`{subject}` ({digest}) must be signed by {expected}, and no bundle verifies: {}",
            reasons.join("; ")
        ),
    )
}

/// The accepted signers (by index) that `bundle` verifies for, and its statement's claim.
fn check_bundle(
    artifact: &Artifact,
    file: &BundleFile,
    policy: &Policy,
) -> Result<(Vec<usize>, Option<Claim>), TrustError> {
    let text = std::str::from_utf8(&file.json)
        .map_err(|_| TrustError::new(Code::TrustMalformedBundle, "the bundle is not UTF-8 JSON"))?;
    let bundle = Bundle::from_json(text).map_err(|e| {
        TrustError::new(
            Code::TrustMalformedBundle,
            format!("not a Sigstore bundle (v0.1 to v0.3): {e}"),
        )
    })?;
    // Which artifact the bundle is for, before any signature is checked, so that a bundle for
    // other bytes says so rather than "bad signature".
    let claim = match &bundle.content {
        SignatureContent::MessageSignature(m) => {
            if let Some(d) = &m.message_digest
                && d.digest.as_bytes() != artifact.digest().as_bytes()
            {
                return fail(
                    Code::TrustWrongArtifact,
                    format!(
                        "the bundle signs the digest sha256:{}, not this artifact's",
                        hex(d.digest.as_bytes())
                    ),
                );
            }
            None
        }
        SignatureContent::DsseEnvelope(env) => {
            if env.payload_type != crate::sign::IN_TOTO_PAYLOAD_TYPE {
                return fail(
                    Code::TrustMalformedBundle,
                    format!(
                        "the envelope's payload type is `{}`, not `{}`",
                        env.payload_type,
                        crate::sign::IN_TOTO_PAYLOAD_TYPE
                    ),
                );
            }
            let claim = statement::claim(env.payload.as_bytes())?;
            if !claim.subjects.contains(&artifact.digest()) {
                return fail(
                    Code::TrustWrongArtifact,
                    format!(
                        "the bundle's statement is about {}, not this artifact",
                        list(&claim.subjects)
                    ),
                );
            }
            Some(claim)
        }
        _ => {
            return fail(
                Code::TrustMalformedBundle,
                "the bundle holds neither a `messageSignature` nor a `dsseEnvelope`",
            );
        }
    };
    let mut who = Vec::new();
    match &bundle.verification_material.content {
        VerificationMaterialContent::PublicKey(hint) => {
            let mut last = None;
            for (i, s) in policy.signers.iter().enumerate() {
                let Accepted::Key(key) = s else { continue };
                match keyed(artifact, &bundle, key, policy) {
                    Ok(()) => who.push(i),
                    Err(e) => last = Some(e),
                }
            }
            if who.is_empty() {
                let hinted = policy
                    .signers
                    .iter()
                    .any(|s| matches!(s, Accepted::Key(k) if k.fingerprint() == hint.hint));
                return match last {
                    None => fail(
                        Code::TrustUnknownSigner,
                        "the bundle is signed with a key, but only keyless (Sigstore identity) signers are accepted",
                    ),
                    Some((code, e)) if hinted => fail(
                        if code == Code::TrustUnknownSigner {
                            Code::TrustBadSignature
                        } else {
                            code
                        },
                        format!(
                            "the signature does not verify with the accepted key the bundle names ({e}): it was made over other bytes, or altered"
                        ),
                    ),
                    Some((code, e)) => fail(
                        code,
                        format!(
                            "no accepted key verifies the signature ({e}): it was made with another key, or over other bytes"
                        ),
                    ),
                };
            }
        }
        VerificationMaterialContent::Certificate(_)
        | VerificationMaterialContent::X509CertificateChain { .. } => {
            if !policy
                .signers
                .iter()
                .any(|s| matches!(s, Accepted::Identity { .. }))
            {
                return fail(
                    Code::TrustUnknownSigner,
                    "the bundle is keyless (a Fulcio certificate), but only keys are accepted",
                );
            }
            let Some(verifier) = &policy.verifier else {
                return fail(
                    Code::TrustNoTrustedRoot,
                    "the bundle is keyless (a Fulcio certificate), and no trusted root was given; there is no built-in one: pass `--trusted-root trusted_root.json`",
                );
            };
            let mut last = None;
            for (i, s) in policy.signers.iter().enumerate() {
                let Accepted::Identity { identity, issuer } = s else {
                    continue;
                };
                let p = VerificationPolicy::new(identity.as_str(), issuer.as_str());
                match verifier.verify(artifact.bytes(), &bundle, &p) {
                    Ok(_) => who.push(i),
                    Err(e) => last = Some(e),
                }
            }
            if who.is_empty() {
                return match last {
                    None => fail(
                        Code::TrustUnknownSigner,
                        "the bundle is keyless (a Fulcio certificate), but only keys are accepted",
                    ),
                    Some(e) => fail(classify(&e, Code::TrustCertificate), e.to_string()),
                };
            }
        }
        _ => {
            return fail(
                Code::TrustMalformedBundle,
                "the bundle's verification material is neither a public key nor a certificate",
            );
        }
    }
    Ok((who, claim))
}

/// Checks a keyed bundle with `key`. With a trusted root, a bundle that carries a
/// transparency-log entry or RFC 3161 timestamps goes through `sigstore-verify`, which checks
/// them too. Otherwise (no root to check them against, or nothing to check, as in bundles
/// signed offline here, which `sigstore-verify` refuses outright for lack of signing-time
/// evidence that only matters for certificates) the signature alone is checked, as
/// `cosign verify-blob --key … --insecure-ignore-tlog` does: with `sigstore-crypto`, over the
/// very bytes a Sigstore verifier uses (the artifact for `messageSignature`, whose digest was
/// checked above; DSSE's PAE for an envelope, whose subject was).
///
/// A signature whose scheme hashes with SHA-256 (ECDSA P-256) is checked against the
/// artifact's digest, taken once for all keys and bundles; other schemes get the bytes
/// (Ed25519 signs them whole, as Sigstore does).
fn keyed(
    artifact: &Artifact,
    bundle: &Bundle,
    key: &PublicKey,
    policy: &Policy,
) -> Result<(), (Code, String)> {
    let material = &bundle.verification_material;
    let has_evidence = !material.tlog_entries.is_empty()
        || !material
            .timestamp_verification_data
            .rfc3161_timestamps
            .is_empty();
    if has_evidence && let Some(verifier) = &policy.verifier {
        let p = PublicKeyVerificationPolicy::new(key.sigstore().clone());
        return verifier
            .verify(artifact.bytes(), bundle, &p)
            .map(|_| ())
            .map_err(|e| (classify(&e, Code::TrustUnknownSigner), e.to_string()));
    }
    let vk = sigstore_crypto::VerificationKey::from_spki(key.sigstore())
        .map_err(|e| (Code::TrustKey, e.to_string()))?;
    let checked = match &bundle.content {
        SignatureContent::MessageSignature(m)
            if vk.scheme().hash_algorithm() == Some(sigstore_types::HashAlgorithm::Sha2256) =>
        {
            vk.verify_prehashed(artifact.digest().as_bytes(), &m.signature)
        }
        SignatureContent::MessageSignature(m) => vk.verify(artifact.bytes(), &m.signature),
        SignatureContent::DsseEnvelope(env) => vk.verify(env.pae(), &env.signature.sig),
        _ => return Err((Code::TrustMalformedBundle, "no signature".to_owned())),
    };
    checked.map_err(|e| (Code::TrustUnknownSigner, e.to_string()))
}

/// The code for a failure reported by `sigstore-verify`.
fn classify(e: &sigstore_verify::Error, otherwise: Code) -> Code {
    use sigstore_verify::Error as E;
    match e {
        E::IdentityMismatch { .. } | E::IssuerMismatch { .. } => Code::TrustUnknownSigner,
        E::SignatureInvalid(_) => otherwise,
        E::ArtifactMismatch(_) => Code::TrustWrongArtifact,
        E::Certificate(_) | E::TransparencyLog(_) | E::Timestamp(_) | E::TrustedCertificate(_) => {
            Code::TrustCertificate
        }
        E::InvalidBundle(_) | E::UnsupportedBundle(_) | E::Types(_) | E::Bundle(_) => {
            Code::TrustMalformedBundle
        }
        E::InvalidTrustRoot(_) | E::TrustRoot(_) => Code::TrustBadTrustedRoot,
        _ => otherwise,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn list(digests: &[Digest]) -> String {
    if digests.is_empty() {
        return "no SHA-256 subject".to_owned();
    }
    digests
        .iter()
        .map(Digest::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
