//! `composectl wit`: canonical ids and forms of WIT packages, interfaces and worlds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use compose_model::cbor;
use compose_wit::{Item, Wit};

use crate::io;

/// Canonical structural ids of WIT (`canon:wit`).
#[derive(Subcommand)]
#[command(defer = true)]
pub enum WitCommand {
    /// Print the id, `sha256:<hex>`, of the package or of one interface or world.
    Id(WitInput),
    /// Print the canonical form in diagnostic notation, to see why two ids differ.
    Canon(WitInput),
}

/// The WIT to read.
#[derive(Args)]
pub struct WitInput {
    /// A `.wit` file, a WIT directory (with `deps/`), or a component `.wasm`.
    path: PathBuf,
    /// An interface or world: a plain name in the package, or `ns:pkg/name[@version]`.
    #[arg(long)]
    item: Option<String>,
    /// Print `{"ok":true,"id"}` (`id`) or `{"ok":true,"id","form"}` (`canon`) on stdout, or
    /// `{"ok":false,"errors":[{"code","message"}]}` (exit status as without).
    #[arg(long)]
    json: bool,
}

impl WitInput {
    fn load(&self) -> std::result::Result<(Wit, Item), compose_wit::Error> {
        let wit = Wit::from_path(&self.path)?;
        let item = match &self.item {
            Some(name) => wit.find(name)?,
            None => Item::Package(wit.package()),
        };
        Ok((wit, item))
    }
}

impl WitCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let (input, canon) = match self {
            WitCommand::Id(i) => (i, false),
            WitCommand::Canon(i) => (i, true),
        };
        let (wit, item) = match input.load() {
            Ok(loaded) => loaded,
            Err(e) => {
                return match e.code() {
                    Some(code) if input.json => {
                        io::println(serde_json::json!({
                            "ok": false,
                            "errors": [{ "code": code.as_str(), "message": e.to_string() }],
                        }))?;
                        Ok(ExitCode::FAILURE)
                    }
                    Some(code) => {
                        eprintln!("error[{code}]: {e}");
                        Ok(ExitCode::FAILURE)
                    }
                    None => Err(e.into()),
                };
            }
        };
        if input.json {
            let mut report = serde_json::json!({ "ok": true, "id": wit.id(item).to_string() });
            if canon {
                let bytes =
                    cbor::encode(&wit.form(item)).expect("canonical forms have unique keys");
                report["form"] = cbor::diagnostic(&bytes).expect("just encoded").into();
            }
            io::println(report)?;
            return Ok(ExitCode::SUCCESS);
        }
        if canon {
            let bytes = cbor::encode(&wit.form(item)).expect("canonical forms have unique keys");
            io::println(cbor::diagnostic_pretty(&bytes).expect("just encoded"))?;
        } else {
            io::println(wit.id(item))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
