//! `composectl`: validate and encode composition plans, check canonical CBOR, and (in later
//! releases) build and run compositions.
//!
//! Exit codes: 0 success, 1 the input is invalid (the command says why), 2 usage or I/O error
//! (`failure`: with `--json` or `--json-out`, reported as JSON too).

use std::process::ExitCode;

use clap::Parser;

mod commands;
mod failure;
mod io;

/// Compose, execute and attest WebAssembly components.
#[derive(Parser)]
// Each subcommand's arguments are defined only when it is the one invoked: defining all of
// them took a tenth of a millisecond at every start.
#[command(defer = true)]
#[command(name = "composectl", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 success, 1 invalid input (the reason is printed), 2 usage or I/O error (E0901, E0902; as JSON too with `--json` or `--json-out`)."
)]
enum Composectl {
    #[command(subcommand)]
    Plan(commands::plan::PlanCommand),
    #[command(subcommand)]
    Cbor(commands::cbor::CborCommand),
    #[command(subcommand)]
    Wit(commands::wit::WitCommand),
    #[command(subcommand)]
    Emit(commands::emit::EmitCommand),
    #[command(subcommand)]
    Exec(commands::exec::ExecCommand),
    #[command(subcommand)]
    Trust(commands::trust::TrustCommand),
    #[command(subcommand)]
    Attest(commands::attest::AttestCommand),
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsCommand),
    /// Write the manual pages (roff) into a folder.
    Man(commands::man::ManCommand),
}

fn main() -> ExitCode {
    let wanted = failure::Wanted::scan(std::env::args_os());
    let command = match Composectl::try_parse() {
        Ok(c) => c,
        Err(e) => return failure::usage(e, &wanted),
    };
    let result = match command {
        Composectl::Plan(c) => c.execute(),
        Composectl::Cbor(c) => c.execute(),
        Composectl::Wit(c) => c.execute(),
        Composectl::Emit(c) => c.execute(),
        Composectl::Exec(c) => c.execute(),
        Composectl::Trust(c) => c.execute(),
        Composectl::Attest(c) => c.execute(),
        Composectl::Audit(c) => c.execute(),
        Composectl::Completions(c) => c.execute(),
        Composectl::Man(c) => c.execute(),
    };
    result.unwrap_or_else(|e| failure::failed(&e, &wanted))
}

#[cfg(test)]
mod tests {
    /// Every subcommand's arguments are well formed (clap checks this only when a subcommand is
    /// invoked, since their definitions are deferred).
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Composectl::command().debug_assert();
    }
}
