//! Making Sigstore bundles v0.3: a `messageSignature` over an artifact's bytes, or a
//! `dsseEnvelope` over an in-toto statement. The bundle names its key only by a hint (the
//! key's fingerprint), which verifiers here never use to choose the key.

use compose_model::{Code, Digest};
use sigstore_bundle::{BundleV03, VerificationMaterialV03};
use sigstore_types::bundle::{MessageDigest, MessageSignature, SignatureContent};
use sigstore_types::intoto::Statement;
use sigstore_types::{
    DigestBytes, DsseEnvelope, DsseSignature, HashAlgorithm, KeyId, PayloadBytes, SignatureBytes,
};

use crate::error::TrustError;
use crate::keys::{PublicKey, SigningKey};

/// The DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Something that signs: a key in memory, or a key inside a PKCS#11 token.
pub trait Signer {
    /// The public key the signatures verify with.
    fn public_key(&self) -> &PublicKey;
    /// A signature over `message`: DER ECDSA (P-256, SHA-256) or pure Ed25519.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError>;
    /// Whether the private key is inside a hardware or PKCS#11 token (it never leaves it),
    /// rather than in this process's memory. Attestation evidence says which.
    fn in_token(&self) -> bool {
        false
    }
}

impl Signer for SigningKey {
    fn public_key(&self) -> &PublicKey {
        SigningKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError> {
        SigningKey::sign(self, message)
    }
}

/// A bundle signing `artifact`'s bytes (`messageSignature`, with their SHA-256), as JSON.
pub fn sign_artifact(artifact: &[u8], signer: &dyn Signer) -> Result<String, TrustError> {
    let signature = signer.sign(artifact)?;
    let digest = Digest::of(artifact);
    let content = SignatureContent::MessageSignature(
        MessageSignature::new(SignatureBytes::new(signature)).with_message_digest(
            MessageDigest::new(
                HashAlgorithm::Sha2256,
                DigestBytes::new(digest.as_bytes().to_vec()),
            ),
        ),
    );
    to_json(signer, content)
}

/// A bundle holding `statement` in a DSSE envelope (payload type `application/vnd.in-toto+json`,
/// signed over DSSE's pre-authentication encoding), as JSON.
pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Result<String, TrustError> {
    let payload = serde_json::to_vec(statement)
        .map_err(|e| TrustError::new(Code::TrustMalformedBundle, e.to_string()))?;
    sign_in_toto(payload, signer)
}

/// [`sign_statement`] for a statement already serialized (e.g. as canonical JSON, which the
/// envelope then carries byte for byte).
pub fn sign_in_toto(payload: Vec<u8>, signer: &dyn Signer) -> Result<String, TrustError> {
    sign_dsse(IN_TOTO_PAYLOAD_TYPE, payload, signer)
}

/// A bundle holding `payload` in a DSSE envelope of `payload_type`, signed over DSSE's
/// pre-authentication encoding (which binds the type), as JSON.
pub(crate) fn sign_dsse(
    payload_type: &str,
    payload: Vec<u8>,
    signer: &dyn Signer,
) -> Result<String, TrustError> {
    let pae = sigstore_types::dsse::pae(payload_type, &payload);
    let signature = signer.sign(&pae)?;
    let envelope = DsseEnvelope::new(
        payload_type,
        PayloadBytes::new(payload),
        DsseSignature::new(SignatureBytes::new(signature), KeyId::new("")),
    );
    to_json(signer, SignatureContent::DsseEnvelope(envelope))
}

fn to_json(signer: &dyn Signer, content: SignatureContent) -> Result<String, TrustError> {
    let hint = signer.public_key().fingerprint();
    let bundle = BundleV03::new(VerificationMaterialV03::PublicKey { hint }, content).into_bundle();
    let mut json = bundle
        .to_json_pretty()
        .map_err(|e| TrustError::new(Code::TrustMalformedBundle, e.to_string()))?;
    json.push('\n');
    Ok(json)
}
