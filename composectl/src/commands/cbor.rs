//! `composectl cbor`: check, canonicalize and show CBOR under the canonical profile.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use compose_model::cbor;

use crate::io;

/// Check, canonicalize and show CBOR under the canonical profile (RFC 8949 §4.2.1).
///
/// With `--json`, each prints `{"ok":true,…}` on stdout, or `{"ok":false,"errors":[{"code",
/// "message","offset"}]}` (exit status as without).
#[derive(Subcommand)]
#[command(defer = true)]
pub enum CborCommand {
    /// Exit 0 if FILE is canonical; exit 1 with the violated rule and byte offset if not.
    Check {
        /// The CBOR file (`-` for stdin).
        file: PathBuf,
        /// Report as JSON: `{"ok":true,"bytes":N}` or the errors.
        #[arg(long)]
        json: bool,
    },
    /// Write the canonical encoding of FILE; exit 1 if it is not well-formed or has duplicate
    /// keys.
    Canon {
        /// The CBOR file (`-` for stdin).
        file: PathBuf,
        /// Where to write (default: stdout). Written atomically.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Report as JSON (`{"ok":true,"output","bytes"}` or the errors); needs `-o`.
        #[arg(long, requires = "output")]
        json: bool,
    },
    /// Print FILE in diagnostic notation (RFC 8949 §8).
    Diag {
        /// The CBOR file (`-` for stdin).
        file: PathBuf,
        /// Report as JSON: `{"ok":true,"diagnostic":TEXT}` or the errors.
        #[arg(long)]
        json: bool,
    },
}

impl CborCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            CborCommand::Check { file, json } => {
                let bytes = io::read(&file)?;
                match cbor::check(&bytes) {
                    Ok(()) if json => {
                        io::println(serde_json::json!({ "ok": true, "bytes": bytes.len() }))?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Ok(()) => {
                        io::println(format_args!(
                            "{}: canonical ({} bytes)",
                            file.display(),
                            bytes.len()
                        ))?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&file, &e, json),
                }
            }
            CborCommand::Canon { file, output, json } => {
                let bytes = io::read(&file)?;
                match cbor::canonicalize(&bytes) {
                    Ok(canon) => {
                        io::write(output.as_deref(), &canon)?;
                        if let (true, Some(out)) = (json, &output) {
                            io::println(serde_json::json!({
                                "ok": true,
                                "output": out.display().to_string(),
                                "bytes": canon.len(),
                            }))?;
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&file, &e, json),
                }
            }
            CborCommand::Diag { file, json } => {
                let bytes = io::read(&file)?;
                match cbor::diagnostic(&bytes) {
                    Ok(text) if json => {
                        io::println(serde_json::json!({ "ok": true, "diagnostic": text }))?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Ok(text) => {
                        io::println(text)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&file, &e, json),
                }
            }
        }
    }
}

fn fail(file: &std::path::Path, e: &cbor::Error, json: bool) -> Result<ExitCode> {
    if json {
        io::println(serde_json::json!({
            "ok": false,
            "errors": [{ "code": e.code.as_str(), "message": e.detail, "offset": e.offset }],
        }))?;
    } else {
        eprintln!(
            "{}: error[{}]: {} at byte offset {}",
            file.display(),
            e.code,
            e.detail,
            e.offset
        );
    }
    Ok(ExitCode::FAILURE)
}
