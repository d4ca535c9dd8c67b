//! What can go wrong on the build side, each with its stable code: emit (every problem found,
//! as plan diagnostics), building guest crates, and precompiling.

use std::path::PathBuf;

use compose_model::Code;
use compose_model::plan::{self, Diagnostic};

/// Why emit failed: every problem found, as plan diagnostics.
#[derive(Debug)]
#[non_exhaustive]
pub struct EmitError {
    /// The plan file, for messages.
    pub file: String,
    /// The plan's TOML text, for spans, when it came from TOML.
    pub source: Option<String>,
    /// The problems.
    pub diagnostics: Vec<Diagnostic>,
}

impl EmitError {
    pub(crate) fn new(file: &str, source: Option<String>, diagnostics: Vec<Diagnostic>) -> Self {
        EmitError {
            file: file.to_owned(),
            source,
            diagnostics,
        }
    }

    /// The code of the first problem (every diagnostic has its own).
    pub fn code(&self) -> Option<Code> {
        self.diagnostics.first().map(|d| d.code)
    }

    /// The diagnostics rendered for a person.
    pub fn render(&self) -> String {
        plan::render(&self.file, self.source.as_deref(), &self.diagnostics)
    }
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for EmitError {}

/// Why guest crates could not be built for `wasm32-wasip2`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestBuildError {
    /// `cargo metadata` could not read the workspace.
    #[error("cannot read the workspace `{}`: {message}", manifest.display())]
    Workspace {
        /// The workspace's `Cargo.toml`.
        manifest: PathBuf,
        /// What cargo said.
        message: String,
    },
    /// The workspace has no such crate.
    #[error("no crate `{name}` in the workspace `{}`; it has {available}", workspace.display())]
    NoSuchCrate {
        /// The crate asked for.
        name: String,
        /// The workspace's root folder.
        workspace: PathBuf,
        /// The crates it has, for the message.
        available: String,
    },
    /// Cargo could not be started or read.
    #[error("cannot run cargo: {0}")]
    Cargo(#[source] std::io::Error),
    /// The build failed; its output, as cargo printed it.
    #[error("`cargo build --target wasm32-wasip2` failed for {packages}:\n{output}")]
    Failed {
        /// The crates built together.
        packages: String,
        /// Cargo's output.
        output: String,
    },
    /// The guest workspace's toolchain has no `wasm32-wasip2` target.
    #[error(
        "the Rust toolchain that builds `{}` has no `wasm32-wasip2` target; add it with `rustup target add wasm32-wasip2`, run in that folder (or list it under `targets` in its `rust-toolchain.toml`)",
        workspace.display()
    )]
    MissingTarget {
        /// The guest workspace's folder.
        workspace: PathBuf,
    },
    /// The crate built, but is not a component.
    #[error("crate `{0}` built but produced no `.wasm`; is it a `bin` or a `cdylib`?")]
    NoComponent(String),
}

impl GuestBuildError {
    /// The stable code: `E0404` when the workspace or crate is not there, else `E0407`.
    pub fn code(&self) -> Code {
        match self {
            GuestBuildError::Workspace { .. } | GuestBuildError::NoSuchCrate { .. } => {
                Code::EmitSourceNotFound
            }
            _ => Code::EmitGuestBuildFailed,
        }
    }
}

/// Why a composition could not be precompiled for embedding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrecompileError {
    /// Wasmtime refused the engine configuration.
    #[error("cannot configure Wasmtime: {0}")]
    Configure(String),
    /// Wasmtime could not compile the component.
    #[error("Wasmtime cannot compile the composed component: {0}")]
    Compile(String),
    /// This build of compose-build cannot precompile.
    #[error(
        "precompiling needs compose-build's `precompile` feature (it links Wasmtime into the build script); enable it, or turn precompiling off"
    )]
    NotEnabled,
}

impl PrecompileError {
    /// The stable code: `E0410`.
    pub fn code(&self) -> Code {
        Code::EmitPrecompileFailed
    }
}
