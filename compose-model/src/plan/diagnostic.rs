//! Plan diagnostics: a code, a message that says what to do, the plan path, and the place in the
//! source file; rendered with codespan-reporting or as JSON.

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};

use super::fix::{Fix, Syntax};
use crate::Code;

/// One problem found in a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// What is wrong and what to do, lowercase, names in backticks.
    pub message: String,
    /// Where in the plan, e.g. `components.app.imports."example:greet/greeter"`.
    pub path: String,
    /// The byte range in the source file, when the plan came from a file with positions.
    pub span: Option<Range<usize>>,
    /// A further hint, such as "did you mean `greeter`?".
    pub help: Option<String>,
    /// The suggested edit the message or hint spells out in TOML, so that another front end
    /// can spell it in its own syntax ([`Diagnostic::in_syntax`]). Boxed: most have none.
    pub fix: Option<Box<Fix>>,
}

impl Diagnostic {
    /// A diagnostic without a span or hint.
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            path: path.into(),
            span: None,
            help: None,
            fix: None,
        }
    }

    /// Records that the message or hint spells out `fix` (as `fix.render(Syntax::Toml)`).
    pub fn with_fix(mut self, fix: Fix) -> Diagnostic {
        self.fix = Some(Box::new(fix));
        self
    }

    /// This diagnostic with its fix spelled in `syntax` (for `compose!`, the macro's tokens).
    pub fn in_syntax(&self, syntax: Syntax) -> Diagnostic {
        let mut d = self.clone();
        if let Some(fix) = &self.fix {
            let (toml, other) = (fix.render(Syntax::Toml), fix.render(syntax));
            d.message = d.message.replace(&toml, &other);
            d.help = d.help.map(|h| h.replace(&toml, &other));
        }
        d
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a span.
    pub fn with_span(mut self, span: Option<Range<usize>>) -> Diagnostic {
        self.span = span;
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)?;
        if !self.path.is_empty() {
            write!(f, " (at `{}`)", self.path)?;
        }
        if let Some(help) = &self.help {
            write!(f, "; help: {help}")?;
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

/// Renders diagnostics for a person: `error[E0202]: …` with `file:line:col` and a snippet when
/// the source text is known.
pub fn render(file: &str, source: Option<&str>, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    let config = Config::default();
    let text = source.unwrap_or("");
    let files = SimpleFile::new(file, text);
    for d in diagnostics {
        match (&d.span, source) {
            (Some(span), Some(_)) => {
                let mut cs = CsDiagnostic::error()
                    .with_code(d.code.as_str())
                    .with_message(&d.message)
                    .with_labels(vec![Label::primary((), span.clone())]);
                let mut notes = Vec::new();
                if !d.path.is_empty() {
                    notes.push(format!("plan path: {}", d.path));
                }
                if let Some(help) = &d.help {
                    notes.push(format!("help: {help}"));
                }
                cs = cs.with_notes(notes);
                match term::emit_into_string(&config, &files, &cs) {
                    Ok(text) => out.push_str(&text),
                    Err(_) => out.push_str(&format!("{file}: {d}\n")),
                }
            }
            _ => out.push_str(&format!("{file}: {d}\n")),
        }
    }
    out
}

/// The JSON form used by `composectl plan validate --json`:
/// `{"valid":bool,"errors":[{"code","message","path","line","column"}]}`.
pub fn to_json(source: Option<&str>, diagnostics: &[Diagnostic]) -> serde_json::Value {
    let errors: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let (line, column) = match (&d.span, source) {
                (Some(span), Some(src)) => {
                    let (l, c) = line_column(src, span.start);
                    (serde_json::json!(l), serde_json::json!(c))
                }
                _ => (serde_json::Value::Null, serde_json::Value::Null),
            };
            let mut e = serde_json::json!({
                "code": d.code.as_str(),
                "message": d.message,
                "path": d.path,
                "line": line,
                "column": column,
            });
            if let Some(help) = &d.help {
                e["help"] = serde_json::json!(help);
            }
            e
        })
        .collect();
    serde_json::json!({ "valid": diagnostics.is_empty(), "errors": errors })
}
