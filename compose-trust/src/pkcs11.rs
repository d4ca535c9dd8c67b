//! Signing inside a PKCS#11 token (an HSM, or SoftHSM2 in tests): the token computes the
//! ECDSA signature over the SHA-256 of the message and the private key never leaves it.
//!
//! The module is `PKCS11_MODULE` (default: SoftHSM2's) and the user PIN `PKCS11_PIN`, as for
//! `pkcs11:` secrets. A key is named by its label (`release`), or by token and label as in
//! RFC 7512 (`pkcs11:token=ci;object=release`); the token must hold its public half too (as
//! `C_GenerateKeyPair` leaves it), which is how the bundle's signer is named.

use std::path::PathBuf;

use compose_model::Code;
use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use p256::pkcs8::EncodePublicKey as _;
use sha2::Digest as _;

use crate::error::{TrustError, fail};
use crate::keys::PublicKey;
use crate::sign::Signer;

/// Where SoftHSM2's module is on Debian and Ubuntu.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A P-256 key inside a PKCS#11 token, with a logged-in session.
pub struct TokenKey {
    session: Session,
    private: ObjectHandle,
    public: PublicKey,
    label: String,
    // Kept for as long as the session is.
    _context: Pkcs11,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("label", &self.label)
            .field("public", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

fn err(message: impl Into<String>) -> TrustError {
    TrustError::new(Code::TrustPkcs11, message)
}

impl TokenKey {
    /// Opens the key named `name` with the module and PIN from the environment
    /// (`PKCS11_MODULE`, `PKCS11_PIN`).
    pub fn from_env(name: &str) -> Result<TokenKey, TrustError> {
        let pin = std::env::var("PKCS11_PIN")
            .map_err(|_| err("no PKCS#11 user PIN: set `PKCS11_PIN`"))?;
        let module = std::env::var_os("PKCS11_MODULE")
            .map_or_else(|| PathBuf::from(SOFTHSM2_MODULE), PathBuf::from);
        TokenKey::open(&module, &pin, name)
    }

    /// Opens the key named `name` in the module at `module`, logging in with `pin`.
    pub fn open(module: &std::path::Path, pin: &str, name: &str) -> Result<TokenKey, TrustError> {
        let (token, label) = parse(name)?;
        let context = load(module)?;
        let found = tokens(&context, token)?;
        let p11 = |e: cryptoki::error::Error| err(format!("PKCS#11: {e}"));
        let mut keys = Vec::new();
        for (slot, token_label) in found {
            let session = context.open_ro_session(slot).map_err(p11)?;
            match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
                Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                // A PIN for one token need not open the others: only the named one must.
                Err(e) if token.is_none() => {
                    let _ = e;
                    continue;
                }
                Err(e) => {
                    return fail(
                        Code::TrustPkcs11,
                        format!(
                            "cannot log in to the PKCS#11 token `{token_label}`: {e}; check `PKCS11_PIN`"
                        ),
                    );
                }
            }
            let private = find(&session, ObjectClass::PRIVATE_KEY, label)?;
            if let Some(private) = private {
                keys.push((session, private, token_label));
            }
        }
        let (session, private, token_label) = match keys.len() {
            1 => keys.remove(0),
            0 => {
                return fail(
                    Code::TrustPkcs11,
                    format!("no PKCS#11 token holds a private key labelled `{label}`"),
                );
            }
            n => {
                return fail(
                    Code::TrustPkcs11,
                    format!(
                        "{n} PKCS#11 tokens hold a key labelled `{label}`; name one: `pkcs11:token=TOKEN;object={label}`"
                    ),
                );
            }
        };
        let public = public_key(&session, label, &token_label)?;
        Ok(TokenKey {
            session,
            private,
            public,
            label: label.to_owned(),
            _context: context,
        })
    }
}

/// The public key labelled `name` (`label` or `pkcs11:token=T;object=L`) in the token of the
/// module `PKCS11_MODULE` (default: SoftHSM2's): how a plan's `{ pkcs11 = "label" }` signer is
/// checked. Public objects are read without logging in; with `PKCS11_PIN` set, tokens that
/// keep their public keys private are logged in to as well.
pub fn verifying_key_from_env(name: &str) -> Result<PublicKey, TrustError> {
    let module = std::env::var_os("PKCS11_MODULE")
        .map_or_else(|| PathBuf::from(SOFTHSM2_MODULE), PathBuf::from);
    verifying_key(&module, std::env::var("PKCS11_PIN").ok().as_deref(), name)
}

/// The public key labelled `name` in the module at `module` (see [`verifying_key_from_env`]).
pub fn verifying_key(
    module: &std::path::Path,
    pin: Option<&str>,
    name: &str,
) -> Result<PublicKey, TrustError> {
    let (token, label) = parse(name)?;
    let context = load(module)?;
    let p11 = |e: cryptoki::error::Error| err(format!("PKCS#11: {e}"));
    let mut keys = Vec::new();
    for (slot, token_label) in tokens(&context, token)? {
        let session = context.open_ro_session(slot).map_err(p11)?;
        if let Some(pin) = pin {
            // Only to see private public keys; a PIN that does not open this token just
            // leaves the public objects visible.
            let _ = session.login(UserType::User, Some(&AuthPin::new(pin.into())));
        }
        if find(&session, ObjectClass::PUBLIC_KEY, label)?.is_some() {
            keys.push(public_key(&session, label, &token_label)?);
        }
    }
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 => fail(
            Code::TrustPkcs11,
            format!("no PKCS#11 token holds a public key labelled `{label}` to verify with"),
        ),
        n => fail(
            Code::TrustPkcs11,
            format!(
                "{n} PKCS#11 tokens hold a public key labelled `{label}`; name one: `pkcs11:token=TOKEN;object={label}`"
            ),
        ),
    }
}

/// Loads and initializes the module.
fn load(module: &std::path::Path) -> Result<Pkcs11, TrustError> {
    let context = Pkcs11::new(module).map_err(|e| {
        err(format!(
            "cannot load the PKCS#11 module `{}`: {e}; set `PKCS11_MODULE`",
            module.display()
        ))
    })?;
    context
        .initialize(CInitializeArgs::OsThreads)
        .map_err(|e| err(format!("cannot initialize the PKCS#11 module: {e}")))?;
    Ok(context)
}

/// The initialized tokens, or the one labelled `token`, with their labels.
fn tokens(
    context: &Pkcs11,
    token: Option<&str>,
) -> Result<Vec<(cryptoki::slot::Slot, String)>, TrustError> {
    let p11 = |e: cryptoki::error::Error| err(format!("PKCS#11: {e}"));
    let mut found = Vec::new();
    for slot in context.get_slots_with_token().map_err(p11)? {
        let info = context.get_token_info(slot).map_err(p11)?;
        // SoftHSM2 (like many modules) shows a spare uninitialized token too.
        if info.token_initialized() && token.is_none_or(|t| info.label().trim_end() == t) {
            found.push((slot, info.label().trim_end().to_owned()));
        }
    }
    Ok(found)
}

impl Signer for TokenKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn in_token(&self) -> bool {
        true
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError> {
        let digest = sha2::Sha256::digest(message);
        let raw = self
            .session
            .sign(&Mechanism::Ecdsa, self.private, &digest)
            .map_err(|e| {
                err(format!(
                    "the PKCS#11 token could not sign with `{}`: {e}",
                    self.label
                ))
            })?;
        // CKM_ECDSA returns r ‖ s; Sigstore bundles hold DER.
        let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| {
            err(format!(
                "the token returned {} bytes, not a P-256 signature; is `{}` a P-256 key?",
                raw.len(),
                self.label
            ))
        })?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// `label`, or `pkcs11:token=T;object=L` → (token, label).
fn parse(name: &str) -> Result<(Option<&str>, &str), TrustError> {
    let Some(rest) = name.strip_prefix("pkcs11:") else {
        return Ok((None, name));
    };
    let mut token = None;
    let mut object = None;
    for part in rest.split(';') {
        match part.split_once('=') {
            Some(("token", v)) => token = Some(v),
            Some(("object", v)) => object = Some(v),
            _ => {}
        }
    }
    match object {
        Some(o) => Ok((token, o)),
        None => fail(
            Code::TrustPkcs11,
            format!(
                "`{name}` names no key: write `pkcs11:token=TOKEN;object=LABEL` or just the key's label"
            ),
        ),
    }
}

fn find(
    session: &Session,
    class: ObjectClass,
    label: &str,
) -> Result<Option<ObjectHandle>, TrustError> {
    let found = session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| err(format!("PKCS#11: {e}")))?;
    match found[..] {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => fail(
            Code::TrustPkcs11,
            format!("the token holds several keys labelled `{label}`; relabel one"),
        ),
    }
}

/// The public half of `label`: its `CKA_EC_POINT` (a DER OCTET STRING holding the SEC1
/// point), as a SubjectPublicKeyInfo.
fn public_key(session: &Session, label: &str, token: &str) -> Result<PublicKey, TrustError> {
    let handle = find(session, ObjectClass::PUBLIC_KEY, label)?.ok_or_else(|| {
        err(format!(
            "the PKCS#11 token `{token}` holds the private key `{label}` but not its public half, which names the signer; import the public key with the same label"
        ))
    })?;
    let attrs = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(|e| err(format!("PKCS#11: {e}")))?;
    let Some(Attribute::EcPoint(point)) = attrs.into_iter().next() else {
        return fail(
            Code::TrustPkcs11,
            format!("the key `{label}` is not an EC key"),
        );
    };
    // Tokens wrap the point in an OCTET STRING (as PKCS#11 says); some return it bare.
    let sec1 = match point.as_slice() {
        [0x04, len, rest @ ..] if *len as usize == rest.len() => rest,
        other => other,
    };
    let key = p256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| err(format!("the key `{label}` is not a P-256 key")))?;
    let der = key
        .to_public_key_der()
        .map_err(|e| err(format!("cannot encode the public key: {e}")))?;
    PublicKey::from_der(der.as_bytes())
}
