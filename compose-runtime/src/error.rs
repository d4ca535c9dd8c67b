//! What can go wrong running a component, with a stable code each.

use compose_model::Code;

/// A run that could not start or did not finish.
#[derive(Debug, thiserror::Error)]
#[error("error[{code}]: {message}")]
#[non_exhaustive]
pub struct ExecError {
    /// The stable code.
    pub code: Code,
    /// What happened, naming the component and the limit, trap or capability.
    pub message: String,
}

impl ExecError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        ExecError {
            code,
            message: message.into(),
        }
    }
}
