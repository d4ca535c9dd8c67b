//! `composectl man -o DIR`: the manual pages (roff, clap_mangen), made from the very
//! definitions that parse the command line: `composectl.1` and one page per subcommand
//! (`composectl-exec-run.1`, …). Nothing installs them; see the README.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};

/// Write the manual pages into a folder (created if need be), one per command.
#[derive(Args)]
pub struct ManCommand {
    /// The folder to write `composectl.1`, `composectl-emit-build.1`, … into.
    #[arg(short = 'o', long, value_name = "DIR")]
    out_dir: PathBuf,
}

impl ManCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let dir = &self.out_dir;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder `{}`", dir.display()))?;
        // Builds every subcommand's arguments first (they are otherwise defined only when the
        // subcommand is invoked), and leaves out clap's own `help` subcommand.
        clap_mangen::generate_to(crate::Composectl::command(), dir)
            .with_context(|| format!("cannot write the manual pages into `{}`", dir.display()))?;
        println!("wrote the manual pages into {}", dir.display());
        Ok(ExitCode::SUCCESS)
    }
}
