//! Serde on top of ciborium, with canonical bytes out and a strict check on the way in.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{canonicalize, check};

/// Why a value could not be encoded to, or decoded from, canonical CBOR.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SerdeError {
    /// The value could not be serialized (for example a map with non-string keys that collide).
    #[error("cannot encode value as CBOR: {0}")]
    Encode(String),
    /// The bytes are canonical but do not match the type.
    #[error("cannot decode CBOR into the expected type: {0}")]
    Decode(String),
    /// The bytes break the canonical profile.
    #[error(transparent)]
    Cbor(#[from] super::Error),
}

/// Serializes `value` with ciborium and returns its canonical encoding.
///
/// ciborium writes preferred integers but keeps struct field order and may write
/// indefinite-length maps; the canonicalizer then sorts keys and fixes lengths and floats.
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, SerdeError> {
    let mut plain = Vec::new();
    ciborium::into_writer(value, &mut plain).map_err(|e| SerdeError::Encode(e.to_string()))?;
    Ok(canonicalize(&plain)?)
}

/// Checks that `bytes` is canonical, then deserializes it with ciborium.
pub fn from_canonical_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, SerdeError> {
    check(bytes)?;
    ciborium::from_reader(bytes).map_err(|e| SerdeError::Decode(e.to_string()))
}
