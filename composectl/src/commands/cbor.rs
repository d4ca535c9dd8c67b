//! `composectl cbor`: check, canonicalize and show CBOR under the canonical profile.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use compose_model::cbor;

use crate::io;

/// Check, canonicalize and show CBOR under the canonical profile (RFC 8949 §4.2.1).
#[derive(Subcommand)]
#[command(defer = true)]
pub enum CborCommand {
    /// Exit 0 if FILE is canonical; exit 1 with the violated rule and byte offset if not.
    Check {
        /// The CBOR file (`-` for stdin).
        file: PathBuf,
    },
    /// Write the canonical encoding of FILE; exit 1 if it is not well-formed or has duplicate
    /// keys.
    Canon {
        /// The CBOR file (`-` for stdin).
        file: PathBuf,
        /// Where to write (default: stdout). Written atomically.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print FILE in diagnostic notation (RFC 8949 §8).
    Diag {
        /// The CBOR file (`-` for stdin).
        file: PathBuf,
    },
}

impl CborCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            CborCommand::Check { file } => {
                let bytes = io::read(&file)?;
                match cbor::check(&bytes) {
                    Ok(()) => {
                        io::println(format_args!(
                            "{}: canonical ({} bytes)",
                            file.display(),
                            bytes.len()
                        ))?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&file, &e),
                }
            }
            CborCommand::Canon { file, output } => {
                let bytes = io::read(&file)?;
                match cbor::canonicalize(&bytes) {
                    Ok(canon) => {
                        io::write(output.as_deref(), &canon)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&file, &e),
                }
            }
            CborCommand::Diag { file } => {
                let bytes = io::read(&file)?;
                match cbor::diagnostic(&bytes) {
                    Ok(text) => {
                        io::println(text)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&file, &e),
                }
            }
        }
    }
}

fn fail(file: &std::path::Path, e: &cbor::Error) -> Result<ExitCode> {
    eprintln!(
        "{}: error[{}]: {} at byte offset {}",
        file.display(),
        e.code,
        e.detail,
        e.offset
    );
    Ok(ExitCode::FAILURE)
}
