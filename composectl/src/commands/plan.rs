//! `composectl plan`: validate, encode, show and digest composition plans.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use compose_model::plan::{self, Diagnostic, Format, Plan};

use crate::io;

/// Validate, encode, show and digest composition plans (TOML or canonical CBOR).
#[derive(Subcommand)]
#[command(defer = true)]
pub enum PlanCommand {
    /// Check a plan; exit 1 and list every error if it is invalid.
    Validate {
        #[command(flatten)]
        input: PlanInput,
        /// Print `{"valid":bool,"errors":[{"code","message","path","line","column"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Encode a plan as canonical CBOR.
    Encode {
        #[command(flatten)]
        input: PlanInput,
        /// Where to write (default: stdout). Written atomically.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print a plan in its normal form, as TOML or JSON.
    Show {
        #[command(flatten)]
        input: PlanInput,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Toml)]
        format: ShowFormat,
    },
    /// Print the plan's digest, `sha256:<hex>` of its canonical CBOR (equal for TOML and CBOR).
    Digest {
        #[command(flatten)]
        input: PlanInput,
    },
}

/// The plan to read.
#[derive(Args)]
pub struct PlanInput {
    /// The plan: `compose.toml`, or canonical CBOR (`.cbor`); `-` for stdin.
    plan: PathBuf,
    /// Read the plan as this format instead of guessing from its name and first byte.
    #[arg(long, value_enum)]
    r#as: Option<InputFormat>,
}

/// Plan input formats.
#[derive(Clone, Copy, ValueEnum)]
pub enum InputFormat {
    /// TOML.
    Toml,
    /// Canonical CBOR.
    Cbor,
}

/// Formats `plan show` prints.
#[derive(Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    /// TOML, the authoring format.
    Toml,
    /// JSON.
    Json,
}

/// A plan that was read, or the reasons it was not.
struct Loaded {
    result: Result<Plan, Vec<Diagnostic>>,
    /// The TOML text, for spans (None for CBOR).
    source: Option<String>,
}

impl PlanInput {
    fn load(&self) -> Result<Loaded> {
        let bytes = io::read(&self.plan)?;
        let format = match self.r#as {
            Some(InputFormat::Toml) => Format::Toml,
            Some(InputFormat::Cbor) => Format::Cbor,
            None => Format::detect(&self.plan, &bytes),
        };
        Ok(match format {
            Format::Cbor => Loaded {
                result: plan::from_cbor(&bytes),
                source: None,
            },
            Format::Toml => match String::from_utf8(bytes) {
                Ok(text) => Loaded {
                    result: plan::from_toml(&text),
                    source: Some(text),
                },
                Err(_) => Loaded {
                    result: Err(vec![Diagnostic::new(
                        compose_model::Code::PlanSyntax,
                        "",
                        "the plan is not UTF-8 text; a TOML plan must be UTF-8 (for a CBOR plan pass `--as cbor`)",
                    )]),
                    source: None,
                },
            },
        })
    }

    fn name(&self) -> String {
        self.plan.display().to_string()
    }

    /// Loads a plan that must be valid; prints the diagnostics otherwise.
    fn valid(&self) -> Result<Option<Plan>> {
        let loaded = self.load()?;
        match loaded.result {
            Ok(plan) => Ok(Some(plan)),
            Err(diags) => {
                report(&self.plan, loaded.source.as_deref(), &diags);
                Ok(None)
            }
        }
    }
}

fn report(file: &Path, source: Option<&str>, diags: &[Diagnostic]) {
    eprint!(
        "{}",
        plan::render(&file.display().to_string(), source, diags)
    );
    let n = diags.len();
    eprintln!(
        "error: `{}` is invalid: {n} error{}",
        file.display(),
        if n == 1 { "" } else { "s" }
    );
}

impl PlanCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            PlanCommand::Validate { input, json } => {
                let loaded = input.load()?;
                let diags = loaded.result.as_ref().err().cloned().unwrap_or_default();
                if json {
                    io::println(plan::to_json(loaded.source.as_deref(), &diags))?;
                } else if let Ok(plan) = &loaded.result {
                    io::println(format_args!(
                        "{}: valid, {} component{}, digest {}",
                        input.name(),
                        plan.components.len(),
                        if plan.components.len() == 1 { "" } else { "s" },
                        plan.digest()
                    ))?;
                } else {
                    report(&input.plan, loaded.source.as_deref(), &diags);
                }
                Ok(if diags.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            PlanCommand::Encode { input, output } => {
                let Some(plan) = input.valid()? else {
                    return Ok(ExitCode::FAILURE);
                };
                io::write(output.as_deref(), &plan.to_cbor())?;
                Ok(ExitCode::SUCCESS)
            }
            PlanCommand::Show { input, format } => {
                let Some(plan) = input.valid()? else {
                    return Ok(ExitCode::FAILURE);
                };
                match format {
                    ShowFormat::Toml => io::print(&plan.to_toml())?,
                    ShowFormat::Json => io::println(format_args!("{:#}", plan.to_json()))?,
                }
                Ok(ExitCode::SUCCESS)
            }
            PlanCommand::Digest { input } => {
                let Some(plan) = input.valid()? else {
                    return Ok(ExitCode::FAILURE);
                };
                io::println(plan.digest())?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
