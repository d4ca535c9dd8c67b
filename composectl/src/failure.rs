//! How `composectl` fails with exit status 2: a usage error (`E0901`) or an input or output it
//! could not read or write (`E0902`), or another coded error found before anything ran. The
//! message always goes to stderr; when the command line asks for JSON (`--json`: stdout,
//! `--json-out FILE`: that file), the report `{"ok":false,"errors":[…]}` goes there too, even
//! when the command line itself is what is wrong.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use compose_model::Code;
use compose_model::plan::Diagnostic;

use crate::commands::report;
use crate::io;

/// An error with its stable code, for the exit-2 failures that are not I/O: a usage error
/// found after parsing (`--allow` on a plan input), a key that cannot be read.
#[derive(Debug)]
pub struct Coded {
    /// The code the report carries.
    pub code: Code,
    /// What went wrong and what to do.
    pub message: String,
}

impl Coded {
    /// A usage error (`E0901`): the command line asks for something that cannot be done.
    pub fn usage(message: impl Into<String>) -> anyhow::Error {
        Coded::error(Code::CliUsage, message)
    }

    /// An error with `code`.
    pub fn error(code: Code, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Coded {
            code,
            message: message.into(),
        })
    }
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// Where the command line asks for a machine-readable report, read off the raw arguments
/// before `--` (those after it are the guest's), so that a command line clap rejects gets its
/// report too.
#[derive(Debug, Default, PartialEq)]
pub struct Wanted {
    /// `--json`: the report on stdout.
    stdout: bool,
    /// `--json-out FILE`: the report in FILE.
    file: Option<PathBuf>,
}

impl Wanted {
    /// Scans `args` (the program name first, as [`std::env::args_os`] gives them).
    pub fn scan(args: impl IntoIterator<Item = OsString>) -> Wanted {
        let mut wanted = Wanted::default();
        let mut args = args.into_iter().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--" {
                break;
            } else if arg == "--json" {
                wanted.stdout = true;
            } else if arg == "--json-out" {
                wanted.file = args.next().map(PathBuf::from);
            } else if let Some(file) = arg.to_str().and_then(|a| a.strip_prefix("--json-out=")) {
                wanted.file = Some(PathBuf::from(file));
            }
        }
        wanted
    }

    /// Writes the report of one error where it was asked for. A report that cannot be written
    /// is said on stderr: the exit status is already 2.
    fn write(&self, code: Code, message: &str, help: Option<String>) {
        let mut diagnostic = Diagnostic::new(code, "", message);
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        let json = format!("{}\n", report::failure(None, &[diagnostic]));
        if self.stdout {
            let _ = io::print(&json);
        }
        if let Some(file) = &self.file
            && let Err(e) = io::write(Some(file), json.as_bytes())
        {
            eprintln!("error: {e:#}");
        }
    }
}

/// A command line clap rejects: its message on stderr (help and version are printed as asked
/// and exit 0), the report as [`Wanted`] says, exit 2.
pub fn usage(error: clap::Error, wanted: &Wanted) -> ExitCode {
    if !error.use_stderr() {
        error.exit();
    }
    let _ = error.print();
    let (message, help) = clap_text(&error);
    wanted.write(Code::CliUsage, &message, help);
    ExitCode::from(2)
}

/// A command that failed before it could say how its input is (exit 2): the message on
/// stderr, the report as [`Wanted`] says, with the code found in the error's chain (a
/// [`Coded`] error, a trust or WIT error's own code), else `E0902`: what is left are the
/// files and streams that could not be read or written.
pub fn failed(error: &anyhow::Error, wanted: &Wanted) -> ExitCode {
    eprintln!("error: {error:#}");
    let code = code_of(error);
    // A trust error says its code in its text; the report has it in its own field.
    let message = format!("{error:#}").replace(&format!("error[{code}]: "), "");
    wanted.write(code, &message, None);
    ExitCode::from(2)
}

fn code_of(error: &anyhow::Error) -> Code {
    error
        .chain()
        .find_map(|e| {
            if let Some(c) = e.downcast_ref::<Coded>() {
                Some(c.code)
            } else if let Some(t) = e.downcast_ref::<compose_trust::TrustError>() {
                Some(t.code)
            } else {
                e.downcast_ref::<compose_wit::Error>()
                    .and_then(|w| w.code())
            }
        })
        .unwrap_or(Code::CliIo)
}

/// Clap's error as a message (its first line, without `error: `) and a hint (its tips).
fn clap_text(error: &clap::Error) -> (String, Option<String>) {
    if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return (
            "a subcommand is missing; `--help` lists them".to_owned(),
            None,
        );
    }
    // Display leaves out the terminal's styling.
    // Its paragraphs: the error (with what it lists: the missing arguments, the possible
    // values), tips, the usage line, where to find help.
    let text = error.render().to_string();
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let message = paragraphs
        .first()
        .and_then(|p| p.strip_prefix("error: "))
        .map_or_else(|| error.kind().to_string(), str::to_owned);
    let tips: Vec<&str> = paragraphs
        .iter()
        .filter_map(|p| p.strip_prefix("tip: "))
        .collect();
    (message, (!tips.is_empty()).then(|| tips.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::Wanted;
    use std::path::PathBuf;

    fn scan(args: &[&str]) -> Wanted {
        Wanted::scan(
            std::iter::once("composectl")
                .chain(args.iter().copied())
                .map(Into::into),
        )
    }

    #[test]
    fn json_flags_are_found_before_the_guests_arguments_only() {
        assert_eq!(scan(&["plan", "validate", "x.toml"]), Wanted::default());
        assert!(scan(&["plan", "validate", "--json", "x.toml"]).stdout);
        assert_eq!(
            scan(&["exec", "run", "--json-out", "r.json", "a.wasm"]).file,
            Some(PathBuf::from("r.json"))
        );
        assert_eq!(
            scan(&["exec", "run", "--json-out=r.json", "a.wasm"]).file,
            Some(PathBuf::from("r.json"))
        );
        assert_eq!(
            scan(&["exec", "run", "a.wasm", "--", "--json", "--json-out", "g"]),
            Wanted::default()
        );
    }
}
