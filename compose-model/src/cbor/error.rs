//! The error every CBOR function returns: which rule failed and at which byte offset.

use crate::codes::Code;

/// A violation of the canonical CBOR profile, found at a byte offset of the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail} (at byte offset {offset})")]
#[non_exhaustive]
pub struct Error {
    /// The stable code of the violated rule.
    pub code: Code,
    /// Offset of the first byte of the offending data item (or of the missing byte).
    pub offset: usize,
    /// What exactly is wrong, in words.
    pub detail: String,
}

impl Error {
    pub(crate) fn new(code: Code, offset: usize, detail: impl Into<String>) -> Self {
        Error {
            code,
            offset,
            detail: detail.into(),
        }
    }

    /// Whether the input was at least well-formed and valid CBOR (only the canonical form was
    /// violated), so `canonicalize` can repair it.
    pub fn is_repairable(&self) -> bool {
        matches!(
            self.code,
            Code::CborLongArgument
                | Code::CborIndefiniteLength
                | Code::CborLongFloat
                | Code::CborNonCanonicalNan
                | Code::CborUnsortedKeys
                | Code::CborLongBignum
        )
    }
}

/// Shorthand for results in this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
