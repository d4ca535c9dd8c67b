//! `pkcs11:token=LABEL;object=LABEL`: a key held in a PKCS#11 token (an HSM, or SoftHSM2), used
//! where it lives. Keys that may not leave the token are never read: the token signs.

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::RawAuthPin;
use sha2::Digest as _;

use super::{Algorithm, Secret, SecretBackend, SecretError};

/// Where SoftHSM2's module is on Debian and Ubuntu; the default for [`Pkcs11Backend::from_env`].
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Signs with (and, where the token allows, reads) keys in a PKCS#11 token.
///
/// A reference names the token and the object by label, as in RFC 7512:
/// `pkcs11:token=release;object=greeting-key`. Signing with `ecdsa-p256-sha256` uses the
/// object's EC private key (the data is hashed with SHA-256 here and signed by the token; the
/// signature comes back DER-encoded), `hmac-sha256` its secret key. `read` returns a secret
/// key's value only when the token marks it extractable and not sensitive.
pub struct Pkcs11Backend {
    module: PathBuf,
    context: Pkcs11,
    pin: Secret,
}

impl std::fmt::Debug for Pkcs11Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Backend")
            .field("module", &self.module)
            .field("pin", &self.pin)
            .finish()
    }
}

impl Pkcs11Backend {
    /// Loads the PKCS#11 module at `module` and logs in to tokens with the user `pin`.
    pub fn new(module: impl AsRef<Path>, pin: Secret) -> Result<Pkcs11Backend, SecretError> {
        let module = module.as_ref().to_path_buf();
        let fail = |what: &str, e: cryptoki::error::Error| {
            SecretError::Backend(format!(
                "cannot {what} the PKCS#11 module `{}`: {e}",
                module.display()
            ))
        };
        let context = Pkcs11::new(&module).map_err(|e| fail("load", e))?;
        context
            .initialize(CInitializeArgs::OsThreads)
            .map_err(|e| fail("initialize", e))?;
        Ok(Pkcs11Backend {
            module,
            context,
            pin,
        })
    }

    /// A backend configured from the environment: the module from `PKCS11_MODULE` (default
    /// [`SOFTHSM2_MODULE`]) and the user PIN from `PKCS11_PIN`.
    pub fn from_env() -> Result<Pkcs11Backend, SecretError> {
        let pin = std::env::var_os("PKCS11_PIN").ok_or_else(|| {
            SecretError::Backend("no PKCS#11 user PIN: set `PKCS11_PIN`".to_owned())
        })?;
        let module = std::env::var_os("PKCS11_MODULE")
            .map_or_else(|| PathBuf::from(SOFTHSM2_MODULE), PathBuf::from);
        Pkcs11Backend::new(module, Secret::new(pin.into_encoded_bytes()))
    }

    /// A logged-in session with the token the reference names, and the object's label.
    fn open(&self, reference: &str) -> Result<(Session, String), SecretError> {
        let (token, object) = parse(reference)?;
        let backend = |e: cryptoki::error::Error| SecretError::Backend(format!("PKCS#11: {e}"));
        let mut slot = None;
        for s in self.context.get_slots_with_token().map_err(backend)? {
            let info = self.context.get_token_info(s).map_err(backend)?;
            if info.label().trim_end() == token {
                slot = Some(s);
                break;
            }
        }
        let slot = slot.ok_or_else(|| {
            SecretError::NotFound(format!("no PKCS#11 token is labelled `{token}`"))
        })?;
        let session = self.context.open_ro_session(slot).map_err(backend)?;
        // Login state is the application's, not the session's: a concurrent use may have
        // logged in already.
        let pin = RawAuthPin::new(self.pin.expose().to_vec());
        match session.login_with_raw(UserType::User, &pin) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => {
                return Err(SecretError::Backend(format!(
                    "cannot log in to the PKCS#11 token `{token}`: {e}"
                )));
            }
        }
        Ok((session, object.to_owned()))
    }

    /// The one object of `class` labelled `label`.
    fn find(
        session: &Session,
        class: ObjectClass,
        label: &str,
        what: &str,
    ) -> Result<ObjectHandle, SecretError> {
        let found = session
            .find_objects(&[
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(|e| SecretError::Backend(format!("PKCS#11: {e}")))?;
        match found[..] {
            [one] => Ok(one),
            [] => Err(SecretError::NotFound(format!(
                "the PKCS#11 token has no {what} labelled `{label}`"
            ))),
            _ => Err(SecretError::Backend(format!(
                "the PKCS#11 token has several {what}s labelled `{label}`"
            ))),
        }
    }
}

/// `token=A;object=B` (in any order, other attributes ignored) → (`A`, `B`).
fn parse(reference: &str) -> Result<(&str, &str), SecretError> {
    let path = reference.split('?').next().unwrap_or("");
    let get = |key: &str| {
        path.split(';')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    match (get("token"), get("object")) {
        (Some(t), Some(o)) => Ok((t, o)),
        _ => Err(SecretError::NotFound(format!(
            "`pkcs11:{reference}` names no token or no object; write `pkcs11:token=LABEL;object=LABEL`"
        ))),
    }
}

impl SecretBackend for Pkcs11Backend {
    fn read(&self, reference: &str) -> Result<Secret, SecretError> {
        let (session, label) = self.open(reference)?;
        let key = Self::find(&session, ObjectClass::SECRET_KEY, &label, "secret key")?;
        let attrs = session
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Value,
                ],
            )
            .map_err(|e| SecretError::Backend(format!("PKCS#11: {e}")))?;
        // Readable only when the token says so explicitly: not sensitive, and extractable.
        let (mut value, mut sensitive, mut extractable) = (None, true, false);
        for a in attrs {
            match a {
                Attribute::Sensitive(s) => sensitive = s,
                Attribute::Extractable(e) => extractable = e,
                Attribute::Value(v) => value = Some(Secret::new(v)),
                _ => {}
            }
        }
        match value.filter(|_| extractable && !sensitive) {
            Some(v) => Ok(v),
            None => Err(SecretError::Unsupported(format!(
                "the key `{label}` may not leave its PKCS#11 token; sign with it instead"
            ))),
        }
    }

    fn sign(
        &self,
        reference: &str,
        algorithm: Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, SecretError> {
        let (session, label) = self.open(reference)?;
        let backend = |e: cryptoki::error::Error| {
            SecretError::Backend(format!("the PKCS#11 token could not sign: {e}"))
        };
        match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let key = Self::find(&session, ObjectClass::PRIVATE_KEY, &label, "private key")?;
                let digest = sha2::Sha256::digest(data);
                let raw = session
                    .sign(&Mechanism::Ecdsa, key, &digest)
                    .map_err(backend)?;
                let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| {
                    SecretError::Backend(format!(
                        "the PKCS#11 token returned {} bytes, not a P-256 signature; is `{label}` a P-256 key?",
                        raw.len()
                    ))
                })?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            Algorithm::HmacSha256 => {
                let key = Self::find(&session, ObjectClass::SECRET_KEY, &label, "secret key")?;
                session
                    .sign(&Mechanism::Sha256Hmac, key, data)
                    .map_err(backend)
            }
            other => Err(SecretError::Unsupported(format!(
                "the PKCS#11 backend signs with ecdsa-p256-sha256 and hmac-sha256, not {}",
                other.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn references_name_a_token_and_an_object() {
        assert_eq!(
            parse("token=release;object=greeting-key").unwrap(),
            ("release", "greeting-key")
        );
        assert_eq!(
            parse("object=k;type=private;token=t?pin-source=x").unwrap(),
            ("t", "k")
        );
        assert!(parse("token=t").is_err());
    }
}
