//! Where secret values come from: the [`SecretBackend`] trait, the built-in `env:` and `file:`
//! backends, and the table of backends by scheme.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

/// A secret's value, held in host memory only.
///
/// It has no `Serialize`, `Display` or `Clone`; its `Debug` shows only its length, and its bytes
/// are zeroed when it is dropped. [`Secret::expose`] is the one way to read them.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps a value read from a backend.
    pub fn new(value: impl Into<Vec<u8>>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value's bytes. Use them where they are needed and do not keep copies.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes, redacted>)", self.0.len())
    }
}

/// Why a backend could not give a secret or use it. Messages name the reference, never the
/// value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The backend has no secret at this reference.
    #[error("{0}")]
    NotFound(String),
    /// The backend failed (unreachable, refused, malformed answer).
    #[error("{0}")]
    Backend(String),
    /// The backend cannot do this (e.g. an algorithm it does not offer).
    #[error("{0}")]
    Unsupported(String),
}

/// A signature algorithm of `std:secrets/operations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256; the secret is the key.
    HmacSha256,
    /// ECDSA over P-256 with SHA-256, DER signature; the secret names a private key.
    EcdsaP256Sha256,
    /// Ed25519.
    Ed25519,
}

impl Algorithm {
    /// The algorithm's name in WIT, e.g. `hmac-sha256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// A source of secret values for one reference scheme.
///
/// `reference` is what follows `scheme:` in the plan, e.g. `API_KEY` for `env:API_KEY`.
/// Implementations are called once per use; cache inside the backend if reading is slow. They
/// are called on the thread running the guest, except under a plan's deadline
/// (`policy.timeout-ms`) when [`SecretBackend::may_block`] says they may take long: then on a
/// thread of their own, which the guest waits for until the deadline only (so a backend must
/// not rely on thread-local state).
pub trait SecretBackend: Send + Sync + 'static {
    /// Whether a call may take long (a remote service, a hardware token): the default. A
    /// backend that answers at once from memory or the environment says `false`, and is then
    /// always called on the guest's thread.
    fn may_block(&self) -> bool {
        true
    }

    /// Reads the secret's value.
    fn read(&self, reference: &str) -> Result<Secret, SecretError>;

    /// Signs `data` with the secret. The default reads the value and computes HMAC-SHA256 with
    /// it; other algorithms are [`SecretError::Unsupported`]. A backend that holds keys it
    /// cannot export (an HSM, a transit engine) overrides this.
    fn sign(
        &self,
        reference: &str,
        algorithm: Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, SecretError> {
        match algorithm {
            Algorithm::HmacSha256 => {
                let key = self.read(reference)?;
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.expose())
                    .expect("HMAC takes keys of any length");
                mac.update(data);
                Ok(mac.finalize().into_bytes().to_vec())
            }
            other => Err(SecretError::Unsupported(format!(
                "this backend signs only with hmac-sha256, not {}",
                other.as_str()
            ))),
        }
    }
}

/// `env:NAME`: the host process's environment variable `NAME`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvBackend;

impl SecretBackend for EnvBackend {
    fn may_block(&self) -> bool {
        false
    }

    fn read(&self, name: &str) -> Result<Secret, SecretError> {
        match std::env::var_os(name) {
            Some(v) => Ok(Secret::new(v.into_encoded_bytes())),
            None => Err(SecretError::NotFound(format!(
                "the host's environment has no variable `{name}`"
            ))),
        }
    }
}

/// `file:PATH`: the bytes of a file on the host (a relative path is taken from the current
/// directory). One trailing newline is dropped, as `echo secret > file` writes one.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileBackend;

impl SecretBackend for FileBackend {
    fn read(&self, path: &str) -> Result<Secret, SecretError> {
        match std::fs::read(path) {
            Ok(mut bytes) => {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                Ok(Secret::new(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretError::NotFound(
                format!("the secret file `{path}` does not exist"),
            )),
            Err(e) => Err(SecretError::Backend(format!(
                "cannot read the secret file `{path}`: {e}"
            ))),
        }
    }
}

/// The backends a host uses, by scheme: the built-in `env` and `file`, then whatever the host
/// registered (which may replace them).
#[derive(Clone, Default)]
pub(crate) struct SecretBackends(BTreeMap<String, Arc<dyn SecretBackend>>);

impl SecretBackends {
    /// Registers `backend` for `scheme`, replacing any earlier one.
    pub(crate) fn insert(&mut self, scheme: &str, backend: Arc<dyn SecretBackend>) {
        self.0.insert(scheme.to_owned(), backend);
    }

    /// The schemes the host reads secrets for: the registered ones, `env` and `file`.
    #[cfg(feature = "attest")]
    pub(crate) fn schemes(&self) -> std::collections::BTreeSet<&str> {
        let mut all: std::collections::BTreeSet<&str> = self.0.keys().map(|k| k.as_str()).collect();
        all.extend(["env", "file"]);
        all
    }

    /// The backend for `scheme`, if the host has one.
    pub(crate) fn get(&self, scheme: &str) -> Option<Arc<dyn SecretBackend>> {
        if let Some(b) = self.0.get(scheme) {
            return Some(b.clone());
        }
        match scheme {
            "env" => Some(Arc::new(EnvBackend)),
            "file" => Some(Arc::new(FileBackend)),
            _ => None,
        }
    }
}

impl fmt::Debug for SecretBackends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new(b"hunter2".to_vec());
        let shown = format!("{s:?} {:#?}", s);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("7 bytes"), "{shown}");
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        struct Fixed;
        impl SecretBackend for Fixed {
            fn read(&self, _: &str) -> Result<Secret, SecretError> {
                Ok(Secret::new(b"Jefe".to_vec()))
            }
        }
        let mac = Fixed
            .sign("k", Algorithm::HmacSha256, b"what do ya want for nothing?")
            .unwrap();
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(matches!(
            Fixed.sign("k", Algorithm::Ed25519, b""),
            Err(SecretError::Unsupported(_))
        ));
    }

    #[test]
    fn a_file_secret_loses_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "s3cret\n").unwrap();
        let s = FileBackend.read(path.to_str().unwrap()).unwrap();
        assert_eq!(s.expose(), b"s3cret");
        let missing = FileBackend.read(dir.path().join("nope").to_str().unwrap());
        assert!(matches!(missing, Err(SecretError::NotFound(_))));
    }

    #[test]
    fn registered_backends_replace_built_in_ones() {
        struct Empty;
        impl SecretBackend for Empty {
            fn read(&self, r: &str) -> Result<Secret, SecretError> {
                Err(SecretError::NotFound(r.to_owned()))
            }
        }
        let mut b = SecretBackends::default();
        assert!(b.get("env").is_some() && b.get("vault").is_none());
        b.insert("env", Arc::new(Empty));
        assert!(b.get("env").unwrap().read("PATH").is_err());
        assert_eq!(format!("{b:?}"), "{\"env\"}");
    }
}
