//! Errors reading WIT or finding an item in it.

use compose_model::Code;

/// Why WIT could not be read, or an item not found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The WIT does not parse or resolve; the message names the file, line and column.
    #[error("{0}")]
    Invalid(String),
    /// No interface or world has that name.
    #[error("no interface or world named `{name}`; {available}")]
    NoSuchItem {
        /// The name asked for.
        name: String,
        /// What there is, in words.
        available: String,
    },
    /// A `.wasm` file that is not a component or an encoded WIT package.
    #[error("`{path}` is not a component or an encoded WIT package: {reason}")]
    NotComponent {
        /// The file.
        path: String,
        /// What the decoder said.
        reason: String,
    },
    /// The file could not be read.
    #[error("failed to read `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// The stable code (`None` for I/O errors, which are not about the input's content).
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Invalid(_) => Some(Code::WitInvalid),
            Error::NoSuchItem { .. } => Some(Code::WitNoSuchItem),
            Error::NotComponent { .. } => Some(Code::WitNotComponent),
            Error::Io { .. } => None,
        }
    }
}
