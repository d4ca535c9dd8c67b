//! Keys and checkpoints. A checkpoint is a C2SP tlog-checkpoint (origin, tree size, root hash)
//! in a C2SP signed note signed with Ed25519 (`signed_note`); its origin is the key's name.
//!
//! Keys are `signed_note`'s text forms: the private key `PRIVATE+KEY+NAME+ID+…` and the
//! verifier key `NAME+ID+…`. Rotating a key: make a new one (the same name gives the same
//! origin), sign from then on with it, and give verifiers both verifier keys until no
//! checkpoint they trust is signed with the old one.

use compose_model::Code;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

use crate::error::AuditError;

/// The name (and so the checkpoints' origin) of keys made without one.
pub const DEFAULT_NAME: &str = "example.invalid/compose/audit";

fn bad(message: impl Into<String>) -> AuditError {
    AuditError::new(Code::AuditCheckpoint, message)
}

/// A private key that signs checkpoints.
pub struct Key {
    signer: StandardSigner,
    name: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("name", &self.name).finish()
    }
}

impl Key {
    /// A new key pair named `name`: the private key's text and the verifier key's.
    pub fn generate(name: &str) -> Result<(String, String), AuditError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(bad(format!(
                "`{name}` is not a key name (non-empty, no spaces or `+`)"
            )));
        }
        Ok(signed_note::generate_key(&mut rand_core::OsRng, name))
    }

    /// The private key in `text` (`PRIVATE+KEY+…`).
    pub fn parse(text: &str) -> Result<Key, AuditError> {
        let text = text.trim();
        let signer = StandardSigner::new(text)
            .map_err(|e| bad(format!("not a signed-note private key: {e}")))?;
        let name = text.split('+').nth(2).unwrap_or_default().to_owned();
        Ok(Key { signer, name })
    }

    /// The key's name: the origin of the checkpoints it signs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A signed checkpoint of a tree of `size` records with root `hash`.
    pub fn sign(&self, size: u64, hash: Hash) -> Vec<u8> {
        let text = Checkpoint::new(&self.name, size, hash, "")
            .expect("a valid key name is a valid origin")
            .to_bytes();
        let mut note = Note::new(&text, &[]).expect("a checkpoint is a valid note text");
        note.add_sigs(&[&self.signer])
            .expect("a valid key name is a valid signer name");
        note.to_bytes()
    }
}

/// A checkpoint whose signature verified.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    /// The log's origin (the key's name).
    pub origin: String,
    /// The number of records it covers.
    pub size: u64,
    /// The tree hash of those records.
    pub hash: Hash,
}

/// Parses verifier keys (`NAME+ID+…`).
pub fn verifiers(keys: &[String]) -> Result<Vec<StandardVerifier>, AuditError> {
    keys.iter()
        .map(|k| {
            StandardVerifier::new(k.trim())
                .map_err(|e| bad(format!("not a signed-note verifier key: {e}")))
        })
        .collect()
}

/// Checks the signed checkpoint `note` (named `what` in messages) with `keys`: signed by one
/// of them, a well-formed checkpoint, whose origin is that key's name.
pub fn verify(note: &[u8], keys: &[String], what: &str) -> Result<SignedCheckpoint, AuditError> {
    let parsed =
        Note::from_bytes(note).map_err(|e| bad(format!("{what} is not a signed note: {e}")))?;
    let list: Vec<Box<dyn signed_note::Verifier>> = verifiers(keys)?
        .into_iter()
        .map(|v| Box::new(v) as Box<dyn signed_note::Verifier>)
        .collect();
    let (signed, _) = parsed
        .verify(&VerifierList::new(list))
        .map_err(|e| bad(format!("{what} is not signed by an accepted key: {e}")))?;
    let c = Checkpoint::from_bytes(parsed.text())
        .map_err(|_| bad(format!("{what} is a signed note, but not a checkpoint")))?;
    if !signed.iter().any(|s| s.name() == c.origin()) {
        return Err(bad(format!(
            "{what} is for the log `{}`, but signed by a key of another name",
            c.origin()
        )));
    }
    Ok(SignedCheckpoint {
        origin: c.origin().to_owned(),
        size: c.size(),
        hash: *c.hash(),
    })
}
