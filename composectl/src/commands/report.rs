//! Machine-readable reports (`--json`, `--json-out`): the error objects of
//! `plan validate --json` (`{"code","message","path","line","column"}`, with `help` when there
//! is a hint), inside `{"ok":false,"errors":[…]}`; successes are `{"ok":true,…}`.

use std::path::PathBuf;

use anyhow::Result;
use compose_model::Code;
use compose_model::plan::{self, Diagnostic};
use serde_json::Value;

use crate::io;

/// `{"ok":false,"errors":[…]}` for plan diagnostics (`source` gives their line and column).
pub fn failure(source: Option<&str>, diags: &[Diagnostic]) -> Value {
    let report = plan::to_json(source, diags);
    serde_json::json!({ "ok": false, "errors": report["errors"] })
}

/// `{"ok":false,"errors":[…]}` for one coded error that has no place in a plan.
pub fn coded(code: Code, message: &str) -> Value {
    failure(None, &[Diagnostic::new(code, "", message)])
}

/// Where `exec` tells how it ended: always stderr for a person (stdout is the guest's), and
/// with `--json-out FILE` a report in FILE too, written atomically.
pub struct JsonOut(pub Option<PathBuf>);

impl JsonOut {
    /// A refusal with plan diagnostics: `text` on stderr, the report in the file.
    pub fn refused(&self, text: &str, source: Option<&str>, diags: &[Diagnostic]) -> Result<()> {
        eprint!("{text}");
        self.write(&failure(source, diags))
    }

    /// A coded error (a trap, a limit, a refused signature): `text` (its `error[E…]: message`
    /// form) on stderr, `message` in the file.
    pub fn error(&self, code: Code, message: &str, text: &str) -> Result<()> {
        eprintln!("{text}");
        self.write(&coded(code, message))
    }

    /// How a run or server ended, e.g. `{"ok":true,"exit_code":0}`.
    pub fn done(&self, report: Value) -> Result<()> {
        self.write(&report)
    }

    fn write(&self, report: &Value) -> Result<()> {
        match &self.0 {
            Some(file) => io::write(Some(file), format!("{report}\n").as_bytes()),
            None => Ok(()),
        }
    }
}
