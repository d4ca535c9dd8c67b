//! Keys: public keys as PEM SubjectPublicKeyInfo (as cosign writes `cosign.pub`) or base64 DER,
//! private keys as unencrypted PKCS#8 PEM, and generating a P-256 pair without ever
//! overwriting a file or leaving the private key readable by others.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use compose_model::{Code, Digest};
use sigstore_crypto::KeyAlgorithm;
use sigstore_types::DerPublicKey;

use crate::error::{TrustError, fail};

/// The signature algorithms this crate signs and verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256 (what `cosign generate-key-pair` makes).
    P256,
    /// Ed25519, pure (over the message itself, as Sigstore signs with it).
    Ed25519,
}

impl Algorithm {
    /// Its name in messages and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::P256 => "ecdsa-p256-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// A public key that signatures are checked with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    der: DerPublicKey,
    algorithm: Algorithm,
}

impl PublicKey {
    /// A key from its DER SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, TrustError> {
        let key = DerPublicKey::new(der.to_vec());
        let algorithm = match KeyAlgorithm::from_spki(&key) {
            Ok(KeyAlgorithm::EcdsaP256) => Algorithm::P256,
            Ok(KeyAlgorithm::Ed25519) => Algorithm::Ed25519,
            Ok(other) => {
                return fail(
                    Code::TrustKey,
                    format!(
                        "the key is {other:?}; only ECDSA P-256 and Ed25519 keys are supported"
                    ),
                );
            }
            Err(e) => {
                return fail(
                    Code::TrustKey,
                    format!("not a public key (DER SubjectPublicKeyInfo): {e}"),
                );
            }
        };
        Ok(PublicKey {
            der: key,
            algorithm,
        })
    }

    /// A key from PEM text (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(text: &str) -> Result<PublicKey, TrustError> {
        match pem::parse(text) {
            Ok(p) if p.tag() == "PUBLIC KEY" => PublicKey::from_der(p.contents()),
            Ok(p) => fail(
                Code::TrustKey,
                format!(
                    "the PEM block is `{}`, not `PUBLIC KEY`; give the public half (`KEY.pub`)",
                    p.tag()
                ),
            ),
            Err(e) => fail(Code::TrustKey, format!("not a PEM public key: {e}")),
        }
    }

    /// A key from base64 of its DER SubjectPublicKeyInfo (how plans name keys inline).
    pub fn from_base64(text: &str) -> Result<PublicKey, TrustError> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| {
                TrustError::new(
                    Code::TrustKey,
                    format!("the key is not base64 DER SubjectPublicKeyInfo: {e}"),
                )
            })?;
        PublicKey::from_der(&der)
    }

    /// Reads a PEM public key file.
    pub fn read(path: &Path) -> Result<PublicKey, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            TrustError::new(
                Code::TrustKey,
                format!("cannot read the public key `{}`: {e}", path.display()),
            )
        })?;
        PublicKey::from_pem(&text)
            .map_err(|e| TrustError::new(e.code, format!("`{}`: {}", path.display(), e.message)))
    }

    /// A plan's `key = "…"`: a path (ending in `.pub` or `.pem`, relative to `base`, the plan's
    /// folder) of a PEM public key, or base64 DER. Base64 never contains `.`, so the two
    /// cannot be confused.
    pub fn from_plan_value(value: &str, base: &Path) -> Result<PublicKey, TrustError> {
        if is_key_path(value) {
            PublicKey::read(&base.join(value))
        } else {
            PublicKey::from_base64(value)
        }
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn der(&self) -> &[u8] {
        self.der.as_bytes()
    }

    /// The key as Sigstore's type.
    pub(crate) fn sigstore(&self) -> &DerPublicKey {
        &self.der
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// `sha256:<hex>` of the DER: how messages, bundles' `publicKey.hint` and `--json` name
    /// the key.
    pub fn fingerprint(&self) -> String {
        Digest::of(self.der()).to_string()
    }

    /// PEM text, as `KEY.pub` holds it.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.der().to_vec()))
    }

    /// Base64 of the DER, as a plan may name the key inline.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.der())
    }
}

/// Whether a plan's `key` value names a file rather than holding the key.
pub fn is_key_path(value: &str) -> bool {
    value.ends_with(".pub") || value.ends_with(".pem")
}

/// A private key held in memory, read from an unencrypted PKCS#8 PEM file.
pub struct SigningKey {
    inner: Inner,
    public: PublicKey,
}

enum Inner {
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a private key file. Refused (`E0709`) when the file can be read or written by
    /// anyone but its owner: a signing key others can read signs for them too.
    pub fn read(path: &Path) -> Result<SigningKey, TrustError> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| {
            TrustError::new(
                Code::TrustKey,
                format!("cannot read the private key `{shown}`: {e}"),
            )
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return fail(
                Code::TrustKey,
                format!(
                    "the private key `{shown}` is readable or writable by others (mode {mode:03o}); `chmod 600 {shown}`, and make a new key if others may have copied it"
                ),
            );
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            TrustError::new(
                Code::TrustKey,
                format!("cannot read the private key `{shown}`: {e}"),
            )
        })?;
        let block = pem::parse(&text)
            .map_err(|e| TrustError::new(Code::TrustKey, format!("`{shown}` is not PEM: {e}")))?;
        if block.tag() != "PRIVATE KEY" {
            return fail(
                Code::TrustKey,
                format!(
                    "`{shown}` holds `{}`, not an unencrypted PKCS#8 `PRIVATE KEY`{}",
                    block.tag(),
                    if block.tag() == "PUBLIC KEY" {
                        "; sign with the private half (without `.pub`)"
                    } else {
                        ""
                    }
                ),
            );
        }
        SigningKey::from_pkcs8(block.contents())
            .map_err(|e| TrustError::new(e.code, format!("`{shown}`: {}", e.message)))
    }

    /// A key from PKCS#8 DER (P-256 or Ed25519).
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, TrustError> {
        let inner = if let Ok(k) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            Inner::P256(k)
        } else if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            Inner::Ed25519(k)
        } else {
            return fail(
                Code::TrustKey,
                "not an ECDSA P-256 or Ed25519 PKCS#8 private key",
            );
        };
        let spki = match &inner {
            Inner::P256(k) => k.public_key().as_der(),
            Inner::Ed25519(k) => k.public_key().as_der(),
        }
        .map_err(|_| TrustError::new(Code::TrustKey, "cannot encode the public key"))?;
        let public = PublicKey::from_der(spki.as_ref())?;
        Ok(SigningKey { inner, public })
    }

    /// Its public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message`: ECDSA P-256 with SHA-256 (DER signature), or pure Ed25519.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError> {
        match &self.inner {
            Inner::P256(k) => k
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| TrustError::new(Code::TrustKey, "ECDSA signing failed")),
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

/// The files [`generate`] wrote.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Generated {
    /// The private key (PKCS#8 PEM, mode 0600).
    pub private: PathBuf,
    /// The public key (PEM SubjectPublicKeyInfo), `PRIVATE.pub`.
    pub public: PathBuf,
    /// The public key.
    pub key: PublicKey,
}

/// Generates a P-256 key: the private key at `path` (PKCS#8 PEM, created with mode 0600 and
/// `O_EXCL`, so an existing file is never overwritten, not even through a symlink) and the
/// public key at `path.pub`. Neither is written when either exists.
pub fn generate(path: &Path) -> Result<Generated, TrustError> {
    let public_path = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, public_path.as_path()] {
        if std::fs::symlink_metadata(p).is_ok() {
            return fail(
                Code::TrustKey,
                format!(
                    "`{}` exists; keys are never overwritten: choose another name or remove it yourself",
                    p.display()
                ),
            );
        }
    }
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .map_err(|_| TrustError::new(Code::TrustKey, "cannot generate a P-256 key"))?;
    let key = SigningKey::from_pkcs8(pkcs8.as_ref())?;
    let private_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
    write_new(path, private_pem.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&public_path, key.public_key().to_pem().as_bytes(), 0o644) {
        // Nothing half-written: without its public half the private key is of no use here.
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(Generated {
        private: path.to_path_buf(),
        public: public_path,
        key: key.public_key().clone(),
    })
}

/// Creates `path` (never replacing anything) with `mode`, writes `bytes` and flushes them.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TrustError> {
    let io = |e: std::io::Error| {
        TrustError::new(
            Code::TrustKey,
            format!("cannot create `{}`: {e}", path.display()),
        )
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}
