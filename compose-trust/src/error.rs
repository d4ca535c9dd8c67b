//! The one error type of this crate: a stable code from the project's table and a message that
//! says what went wrong, for which artifact, and what to do.

use compose_model::Code;

/// A refused signature, an unusable key or bundle, or a failed signing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("error[{code}]: {message}")]
#[non_exhaustive]
pub struct TrustError {
    /// The stable code (`E07xx`).
    pub code: Code,
    /// What went wrong and what to do.
    pub message: String,
}

impl TrustError {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> TrustError {
        TrustError {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand for `Err(TrustError::new(code, message))`.
pub(crate) fn fail<T>(code: Code, message: impl Into<String>) -> Result<T, TrustError> {
    Err(TrustError::new(code, message))
}
