//! The one error type: a code from the project's table and a message saying what went wrong,
//! where (the record index, the file) and what to do.

use compose_model::Code;

/// A log that cannot be written, or that does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("error[{code}]: {message}")]
#[non_exhaustive]
pub struct AuditError {
    /// The stable code (`E08xx`).
    pub code: Code,
    /// What went wrong.
    pub message: String,
    /// The first record that does not verify, when one is to blame.
    pub index: Option<u64>,
}

impl AuditError {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> AuditError {
        AuditError {
            code,
            message: message.into(),
            index: None,
        }
    }

    /// A tampered log, blaming record `index`.
    pub fn at(index: u64, message: impl std::fmt::Display) -> AuditError {
        AuditError {
            code: Code::AuditTampered,
            message: format!("record {index}: {message}"),
            index: Some(index),
        }
    }

    /// The sink failed doing `what` on `path`.
    pub fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> AuditError {
        AuditError::new(
            Code::AuditSink,
            format!("cannot {what} `{}`: {e}", path.display()),
        )
    }
}
