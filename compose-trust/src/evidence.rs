//! Attestation evidence: what a host signs when a guest asks it (`std:attest`) what it runs as,
//! and how a verifier checks it.
//!
//! The evidence is a JSON object of fixed fields (canonical JSON, RFC 8785) in a DSSE envelope
//! inside a Sigstore bundle v0.3, signed by the host's attestation key:
//!
//! ```json
//! { "_type": "https://example.invalid/compose/attestation-evidence/v1",
//!   "evidenceKind": "software-key",
//!   "plan": "sha256:…", "component": "sha256:…",
//!   "host": { "runtime": "compose-runtime/0.1.0", "wasmtime": "50.0.1",
//!             "target": "x86_64-unknown-linux-gnu", "engine": "sha256:…", "policy": "sha256:…" },
//!   "issuedAt": "2026-12-03T17:30:00Z",
//!   "instance": "<32 hex digits>",
//!   "nonce": "<hex of at most 64 bytes>" }
//! ```
//!
//! The envelope's payload type is this project's, [`PAYLOAD_TYPE`], not in-toto's: DSSE signs
//! the type with the payload, so evidence can never pass for a provenance or composition
//! statement signed by the same key, and the only bytes a guest chooses are the nonce's, hex
//! encoded in its field. The host is no signing oracle.
//!
//! Which evidence signed it is said, never pretended: `software-key` (a key in the host's
//! memory) or `pkcs11` (a key inside a PKCS#11 token). These hosts have no TPM or TEE.

use std::time::{Duration, SystemTime};

use compose_model::{Code, Digest};
use serde::{Deserialize, Serialize};
use sigstore_types::Bundle;
use sigstore_types::bundle::{SignatureContent, VerificationMaterialContent};

use crate::error::{TrustError, fail};
use crate::keys::PublicKey;
use crate::sign::{Signer, sign_dsse};

/// The DSSE payload type of attestation evidence.
pub const PAYLOAD_TYPE: &str = "application/vnd.compose.attestation-evidence.v1+json";

/// The `_type` of the evidence object.
pub const EVIDENCE_TYPE: &str = "https://example.invalid/compose/attestation-evidence/v1";

/// The longest nonce a report carries, in bytes.
pub const MAX_NONCE: usize = 64;

/// How far in the future (clock skew between host and verifier) evidence may be dated.
const SKEW: Duration = Duration::from_secs(300);

/// The evidence that signed a report, as the host says: `pkcs11` when its signer reports a key
/// inside a token ([`Signer::in_token`]), `software-key` otherwise. It is the host's own claim,
/// as trustworthy as the key that signs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// A software key in the host's memory.
    SoftwareKey,
    /// A key inside a PKCS#11 token.
    Pkcs11,
}

impl EvidenceKind {
    /// The kind of `signer`'s key.
    pub fn of(signer: &dyn Signer) -> EvidenceKind {
        if signer.in_token() {
            EvidenceKind::Pkcs11
        } else {
            EvidenceKind::SoftwareKey
        }
    }

    /// Its name in the evidence, as in the WIT's `evidence-kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::SoftwareKey => "software-key",
            EvidenceKind::Pkcs11 => "pkcs11",
        }
    }
}

/// What the host says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The runtime and its version, e.g. `compose-runtime/0.1.0`.
    pub runtime: String,
    /// The Wasmtime release.
    pub wasmtime: String,
    /// The target triple the runtime was built for.
    pub target: String,
    /// SHA-256 of the engine configuration the composition runs with.
    pub engine: Digest,
    /// SHA-256 of the host policy (what the host refuses, lets guests reveal, its secret
    /// backends).
    pub policy: Digest,
}

/// What a report is about: the host's facts, the same for every report of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The digest of the running plan (its canonical CBOR).
    pub plan: Digest,
    /// The digest of the running composed component.
    pub component: Digest,
    /// The host.
    pub host: Host,
}

/// Attestation evidence, as signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Evidence {
    /// Always [`EVIDENCE_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The evidence that signed it.
    pub evidence_kind: EvidenceKind,
    /// The plan's digest.
    pub plan: Digest,
    /// The composed component's digest.
    pub component: Digest,
    /// The host.
    pub host: Host,
    /// When the host made it (RFC 3339, UTC, whole seconds).
    pub issued_at: String,
    /// The instance that asked (a store: one run, or one request of a server), random,
    /// 32 hex digits.
    pub instance: String,
    /// The guest's data (the verifier's nonce), hex.
    pub nonce: String,
}

/// A new random instance id (16 bytes from the system's random source).
pub fn new_instance() -> Result<[u8; 16], TrustError> {
    let mut id = [0u8; 16];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| {
        TrustError::new(
            Code::TrustKey,
            "the system's random source failed, so no instance id could be made",
        )
    })?;
    Ok(id)
}

/// Signs evidence about `subject` for `nonce`, asked by `instance`, now: the Sigstore bundle's
/// JSON and what it holds. A nonce longer than [`MAX_NONCE`] is refused (`E0715`).
pub fn make(
    subject: &Subject,
    nonce: &[u8],
    instance: &[u8; 16],
    signer: &dyn Signer,
) -> Result<(String, Evidence), TrustError> {
    if nonce.len() > MAX_NONCE {
        return fail(
            Code::TrustEvidenceNonce,
            format!(
                "the nonce is {} bytes; evidence carries at most {MAX_NONCE}",
                nonce.len()
            ),
        );
    }
    let now = jiff::Timestamp::now();
    let evidence = Evidence {
        type_: EVIDENCE_TYPE.to_owned(),
        evidence_kind: EvidenceKind::of(signer),
        plan: subject.plan,
        component: subject.component,
        host: subject.host.clone(),
        issued_at: jiff::Timestamp::from_second(now.as_second())
            .expect("the current time is in range")
            .to_string(),
        instance: hex(instance),
        nonce: hex(nonce),
    };
    let value = serde_json::to_value(&evidence).expect("evidence serializes");
    let payload = serde_json_canonicalizer::to_vec(&value).expect("a JSON value serializes");
    Ok((sign_dsse(PAYLOAD_TYPE, payload, signer)?, evidence))
}

/// What a verifier expects of evidence besides a good signature.
#[derive(Clone, Debug, Default)]
pub struct Expected<'a> {
    /// The nonce it sent.
    pub nonce: &'a [u8],
    /// The plan it expects to run, if it knows it.
    pub plan: Option<Digest>,
    /// The composed component it expects to run, if it knows it.
    pub component: Option<Digest>,
    /// How old the evidence may be, if it matters.
    pub max_age: Option<Duration>,
}

/// Evidence that verified, and who signed it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked {
    /// What it says.
    pub evidence: Evidence,
    /// The fingerprint of the key that signed it.
    pub signer: String,
}

/// Checks a bundle of evidence: signed by one of `keys` (never a key the bundle names), of
/// [`PAYLOAD_TYPE`] with exactly the fixed fields, answering `expected`'s nonce, naming its
/// plan and component when given, and not older than its `max_age`.
///
/// Codes: `E0705` not evidence (malformed, another payload type, other fields), `E0702` no
/// key given verifies it, `E0703` it does not verify with the key it names (altered),
/// `E0715` another nonce, `E0716` another plan or component, `E0717` too old or from the
/// future.
pub fn verify(
    bundle: &[u8],
    keys: &[PublicKey],
    expected: &Expected,
) -> Result<Checked, TrustError> {
    let malformed = |m: String| TrustError::new(Code::TrustMalformedBundle, m);
    let text =
        std::str::from_utf8(bundle).map_err(|_| malformed("the bundle is not UTF-8".into()))?;
    let bundle = Bundle::from_json(text)
        .map_err(|e| malformed(format!("not a Sigstore bundle (v0.1 to v0.3): {e}")))?;
    let SignatureContent::DsseEnvelope(env) = &bundle.content else {
        return fail(
            Code::TrustMalformedBundle,
            "the bundle holds no DSSE envelope, so it is no attestation evidence",
        );
    };
    if env.payload_type != PAYLOAD_TYPE {
        return fail(
            Code::TrustMalformedBundle,
            format!(
                "the envelope's payload type is `{}`, not attestation evidence's `{PAYLOAD_TYPE}`{}",
                env.payload_type,
                if env.payload_type == crate::sign::IN_TOTO_PAYLOAD_TYPE {
                    " (an in-toto statement: check provenance with `attest verify`)"
                } else {
                    ""
                }
            ),
        );
    }
    let VerificationMaterialContent::PublicKey(hint) = &bundle.verification_material.content else {
        return fail(
            Code::TrustUnknownSigner,
            "the evidence is signed keylessly; host evidence is signed with the host's key",
        );
    };
    let mut signer = None;
    let mut hinted = false;
    for key in keys {
        hinted |= key.fingerprint() == hint.hint;
        let vk = sigstore_crypto::VerificationKey::from_spki(key.sigstore())
            .map_err(|e| TrustError::new(Code::TrustKey, e.to_string()))?;
        if vk.verify(env.pae(), &env.signature.sig).is_ok() {
            signer = Some(key.fingerprint());
            break;
        }
    }
    let Some(signer) = signer else {
        return if hinted {
            fail(
                Code::TrustBadSignature,
                "the evidence does not verify with the accepted key it names: it was altered",
            )
        } else {
            fail(
                Code::TrustUnknownSigner,
                format!(
                    "no accepted key verifies the evidence (it names key {}): it was signed by another host",
                    hint.hint
                ),
            )
        };
    };
    let evidence: Evidence = serde_json::from_slice(env.payload.as_bytes())
        .map_err(|e| malformed(format!("the evidence does not have the fixed fields: {e}")))?;
    if evidence.type_ != EVIDENCE_TYPE {
        return Err(malformed(format!(
            "the evidence's `_type` is `{}`, not `{EVIDENCE_TYPE}`",
            evidence.type_
        )));
    }
    if evidence.instance.len() != 32 || unhex(&evidence.instance).is_none() {
        return Err(malformed(
            "the evidence's `instance` is not 32 hex digits".into(),
        ));
    }
    check(&evidence, expected)?;
    Ok(Checked { evidence, signer })
}

/// The checks of [`verify`] after the signature: nonce, plan, component, age.
fn check(evidence: &Evidence, expected: &Expected) -> Result<(), TrustError> {
    let nonce = unhex(&evidence.nonce).ok_or_else(|| {
        TrustError::new(
            Code::TrustMalformedBundle,
            "the evidence's `nonce` is not lowercase hex",
        )
    })?;
    if nonce != expected.nonce {
        return fail(
            Code::TrustEvidenceNonce,
            format!(
                "the evidence answers the nonce {}, not {}: it was made for another request (or replayed)",
                show(&evidence.nonce),
                show(&hex(expected.nonce))
            ),
        );
    }
    for (what, named, wanted) in [
        ("plan", evidence.plan, expected.plan),
        ("component", evidence.component, expected.component),
    ] {
        if let Some(w) = wanted
            && w != named
        {
            return fail(
                Code::TrustEvidenceMismatch,
                format!("the evidence names the {what} {named}, not {w}"),
            );
        }
    }
    let issued: jiff::Timestamp = evidence.issued_at.parse().map_err(|e| {
        TrustError::new(
            Code::TrustMalformedBundle,
            format!("the evidence's `issuedAt` is not an RFC 3339 time: {e}"),
        )
    })?;
    let issued = SystemTime::from(issued);
    let now = SystemTime::now();
    if issued > now + SKEW {
        return fail(
            Code::TrustEvidenceStale,
            format!(
                "the evidence is dated {}, in the future (more than {} s ahead of this clock)",
                evidence.issued_at,
                SKEW.as_secs()
            ),
        );
    }
    if let Some(max) = expected.max_age
        && let Ok(age) = now.duration_since(issued)
        && age > max
    {
        return fail(
            Code::TrustEvidenceStale,
            format!(
                "the evidence was made {} s ago ({}), more than the {} s accepted",
                age.as_secs(),
                evidence.issued_at,
                max.as_secs()
            ),
        );
    }
    Ok(())
}

/// A nonce for messages: whole if short, else its start.
fn show(hex: &str) -> String {
    if hex.len() <= 24 {
        format!("`{hex}`")
    } else {
        format!("`{}…`", &hex[..24])
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lowercase hex `text` (an even number of digits), if it is.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn key() -> (tempfile::TempDir, SigningKey) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        crate::keys::generate(&path).unwrap();
        let k = SigningKey::read(&path).unwrap();
        (dir, k)
    }

    fn subject() -> Subject {
        let d = Digest::of(b"x");
        Subject {
            plan: d,
            component: d,
            host: Host {
                runtime: "r".into(),
                wasmtime: "w".into(),
                target: "t".into(),
                engine: d,
                policy: d,
            },
        }
    }

    /// Evidence dated in the future (a host clock far ahead, or forged dates) is refused.
    #[test]
    fn evidence_from_the_future_is_refused() {
        let (_dir, k) = key();
        let (_, mut e) = make(&subject(), b"n", &[0; 16], &k).unwrap();
        let keys = [k.public_key().clone()];
        let expected = Expected {
            nonce: b"n",
            ..Default::default()
        };
        for (at, ok) in [
            ("2000-01-01T00:00:00Z", true),
            ("2999-01-01T00:00:00Z", false),
        ] {
            e.issued_at = at.into();
            let payload =
                serde_json_canonicalizer::to_vec(&serde_json::to_value(&e).unwrap()).unwrap();
            let bundle = sign_dsse(PAYLOAD_TYPE, payload, &k).unwrap();
            let r = verify(bundle.as_bytes(), &keys, &expected);
            assert_eq!(r.is_ok(), ok, "{at}: {r:?}");
            if !ok {
                assert_eq!(r.unwrap_err().code, Code::TrustEvidenceStale);
            }
        }
        // An old one is refused only with a maximum age.
        let old = Expected {
            max_age: Some(Duration::from_secs(3600)),
            ..expected
        };
        e.issued_at = "2000-01-01T00:00:00Z".into();
        let payload = serde_json_canonicalizer::to_vec(&serde_json::to_value(&e).unwrap()).unwrap();
        let bundle = sign_dsse(PAYLOAD_TYPE, payload, &k).unwrap();
        assert_eq!(
            verify(bundle.as_bytes(), &keys, &old).unwrap_err().code,
            Code::TrustEvidenceStale
        );
    }

    /// Signed evidence with a field added, or of another type, is not evidence.
    #[test]
    fn only_the_fixed_fields_are_evidence() {
        let (_dir, k) = key();
        let (_, e) = make(&subject(), b"n", &[0; 16], &k).unwrap();
        let keys = [k.public_key().clone()];
        let expected = Expected {
            nonce: b"n",
            ..Default::default()
        };
        let mut extra = serde_json::to_value(&e).unwrap();
        extra["claims"] = serde_json::json!("anything");
        let mut typed = serde_json::to_value(&e).unwrap();
        typed["_type"] = serde_json::json!("https://in-toto.io/Statement/v1");
        for v in [extra, typed] {
            let bundle = sign_dsse(PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap(), &k).unwrap();
            let err = verify(bundle.as_bytes(), &keys, &expected).unwrap_err();
            assert_eq!(err.code, Code::TrustMalformedBundle, "{err}");
        }
        // Over-long nonces are never signed.
        assert_eq!(
            make(&subject(), &[0; 65], &[0; 16], &k).unwrap_err().code,
            Code::TrustEvidenceNonce
        );
    }
}
