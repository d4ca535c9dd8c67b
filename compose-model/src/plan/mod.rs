//! Composition plans (`sys:compose` plan, schema v1): read from TOML or canonical CBOR, checked,
//! and written back as canonical CBOR, TOML or JSON.
//!
//! ```
//! let toml = r#"
//! [components.greeter]
//! path = "greeter.wasm"
//! exports = ["example:greet/greeter"]
//!
//! [components.app]
//! path = "app.wasm"
//! exports = ["wasi:cli/run@0.2.0"]
//! imports = { "example:greet/greeter" = "greeter" }
//! capabilities = { stdio = "required" }
//!
//! [exports]
//! "wasi:cli/run@0.2.0" = "app"
//!
//! [grants]
//! stdio = true
//! "#;
//! let plan = compose_model::plan::from_toml(toml).unwrap();
//! let cbor = plan.to_cbor();
//! assert_eq!(compose_model::plan::from_cbor(&cbor).unwrap(), plan);
//! ```

mod capabilities;
mod check;
mod diagnostic;
mod fix;
mod model;
mod names;
mod node;
mod parse;
mod parse_capabilities;
mod read;
pub mod recorded;
mod support;

pub use check::LIMITS;
pub use diagnostic::{Diagnostic, line_column, render, to_json};
pub use fix::{Edit, Fix, FixValue, Syntax};
pub use model::*;
pub use node::{Entry, Kind, Node};
pub use support::{UNIMPLEMENTED_CAPABILITIES, unsupported};

use crate::{Code, Digest, cbor};
use read::Cx;

/// Reads and checks a TOML plan. On failure returns every diagnostic, with spans into `source`.
pub fn from_toml(source: &str) -> Result<Plan, Vec<Diagnostic>> {
    finish(&toml_document(source)?)
}

/// The document tree of a TOML plan, or its syntax error.
fn toml_document(source: &str) -> Result<Node, Vec<Diagnostic>> {
    match node::from_toml(source) {
        Ok(root) => Ok(root),
        Err(e) => {
            let message = e.message().trim_end().to_owned();
            let code = if message.contains("duplicate key") {
                Code::PlanDuplicateName
            } else {
                Code::PlanSyntax
            };
            let first_line = message
                .lines()
                .next()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_owned();
            let message = if code == Code::PlanDuplicateName {
                "this key or table is defined twice; merge the two definitions or rename one"
                    .to_owned()
            } else {
                format!("{first_line}; fix the TOML syntax")
            };
            Err(vec![Diagnostic::new(code, "", message).with_span(e.span())])
        }
    }
}

/// A plan read from a file or document: the plan, its TOML text (for rendering spans) and the
/// span of every plan path, kept from the one parse so that errors found later (at emit, by the
/// macro) point into the source without parsing it again.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlanFile {
    /// The plan.
    pub plan: Plan,
    /// The TOML text, when the plan came from TOML.
    pub source: Option<String>,
    spans: read::Spans,
}

impl PlanFile {
    /// Gives every diagnostic without a span the span of its plan path (or of the nearest
    /// enclosing path).
    pub fn locate(&self, diagnostics: &mut [Diagnostic]) {
        for d in diagnostics
            .iter_mut()
            .filter(|d| d.span.is_none() && !d.path.is_empty())
        {
            d.span = read::span_near(&self.spans, &d.path);
        }
    }
}

/// The one reader of plan files, behind the CLI, the build helper and the macro: reads and
/// checks the bytes of a plan file, TOML or canonical CBOR as [`Format::detect`] guesses from
/// `path` and the bytes. On failure returns the diagnostics and the TOML text.
pub fn read_file(
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<PlanFile, (Vec<Diagnostic>, Option<String>)> {
    match Format::detect(path, bytes) {
        Format::Cbor => from_cbor(bytes)
            .map(|plan| PlanFile {
                plan,
                source: None,
                spans: Default::default(),
            })
            .map_err(|d| (d, None)),
        Format::Toml => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            match toml_document(&text) {
                Ok(root) => match finish_with_spans(&root) {
                    Ok((plan, spans)) => Ok(PlanFile {
                        plan,
                        source: Some(text),
                        spans,
                    }),
                    Err(d) => Err((d, Some(text))),
                },
                Err(d) => Err((d, Some(text))),
            }
        }
    }
}

/// Reads and checks a document tree built by another front end (the `compose!` macro builds
/// one from its tokens), keeping the tree's spans for later errors.
pub fn read_document(root: &Node) -> Result<PlanFile, Vec<Diagnostic>> {
    finish_with_spans(root).map(|(plan, spans)| PlanFile {
        plan,
        source: None,
        spans,
    })
}

/// Reads and checks the bytes of a plan file (see [`read_file`]); also returns the TOML text,
/// for rendering spans.
pub fn from_file_bytes(
    path: &std::path::Path,
    bytes: &[u8],
) -> (Result<Plan, Vec<Diagnostic>>, Option<String>) {
    match read_file(path, bytes) {
        Ok(f) => (Ok(f.plan), f.source),
        Err((d, source)) => (Err(d), source),
    }
}

/// Reads and checks a canonical CBOR plan. Non-canonical bytes are refused (`E0108`), and so
/// are bytes that are not the plan's normal form (`E0109`).
pub fn from_cbor(bytes: &[u8]) -> Result<Plan, Vec<Diagnostic>> {
    let value = cbor::decode(bytes).map_err(|e| {
        vec![Diagnostic::new(
            Code::PlanNotCanonical,
            "",
            format!(
                "the plan is not canonical CBOR: {e}; re-encode it with `composectl plan encode`"
            ),
        )]
    })?;
    let plan = finish(&node::from_cbor(value))?;
    // One plan, one encoding: the bytes must be exactly what `to_cbor` writes, so the digest of
    // a CBOR plan file is the digest of the plan.
    if plan.to_cbor() != bytes {
        return Err(vec![Diagnostic::new(
            Code::PlanNotNormal,
            "",
            "the plan is canonical CBOR but not in normal form (a shorthand, a default written out, or no `schema`); re-encode it with `composectl plan encode`",
        )]);
    }
    Ok(plan)
}

/// Reads and checks a plan from a document tree built by another front end (the `compose!`
/// macro builds one from its tokens). Diagnostics carry the tree's spans.
pub fn from_document(root: &Node) -> Result<Plan, Vec<Diagnostic>> {
    finish(root)
}

fn finish(root: &node::Node) -> Result<Plan, Vec<Diagnostic>> {
    finish_with_spans(root).map(|(plan, _)| plan)
}

/// Reads and checks a document, keeping the span of every plan path it visited.
fn finish_with_spans(root: &node::Node) -> Result<(Plan, read::Spans), Vec<Diagnostic>> {
    let mut cx = Cx::default();
    let plan = parse::plan(&mut cx, root);
    check::plan(&mut cx, &plan);
    if cx.diags.is_empty() {
        Ok((plan, cx.spans))
    } else {
        // In file order; those without a position (CBOR plans) keep the order they were found.
        cx.diags
            .sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        Err(cx.diags)
    }
}

/// Runs the cross-reference checks on a plan built in code.
pub fn check(plan: &Plan) -> Vec<Diagnostic> {
    let mut cx = Cx::default();
    check::plan(&mut cx, plan);
    cx.diags
}

impl Plan {
    /// The plan's canonical CBOR encoding: the one form it is stored, embedded and hashed in.
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_canonical_vec(self).expect("a plan always encodes: its maps have string keys")
    }

    /// The digest of the canonical CBOR encoding.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.to_cbor())
    }

    /// The plan as TOML, in the normal form (no shorthands).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a plan always serializes to TOML")
    }

    /// The plan as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a plan always serializes to JSON")
    }
}

/// The format of a plan file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML, for people.
    Toml,
    /// Canonical CBOR, for machines.
    Cbor,
}

impl Format {
    /// Guesses the format from the file name, then from the first byte (CBOR plans are maps).
    pub fn detect(path: &std::path::Path, bytes: &[u8]) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Format::Toml,
            Some("cbor") => Format::Cbor,
            _ if bytes.first().is_some_and(|b| b >> 5 == 5) => Format::Cbor,
            _ => Format::Toml,
        }
    }
}
