//! `composectl completions SHELL`: a shell completion script (clap_complete), made from the
//! very definitions that parse the command line, so it always offers what `composectl` takes.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Print a completion script for a shell on standard output. Install it where the shell looks:
/// bash `~/.local/share/bash-completion/completions/composectl`, zsh `_composectl` in a folder
/// of `$fpath`, fish `~/.config/fish/completions/composectl.fish`.
#[derive(Args)]
pub struct CompletionsCommand {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

impl CompletionsCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let mut cmd = crate::Composectl::command();
        // Every subcommand's arguments, which are otherwise defined only when it is invoked.
        cmd.build();
        clap_complete::generate(self.shell, &mut cmd, "composectl", &mut std::io::stdout());
        Ok(ExitCode::SUCCESS)
    }
}
