//! Typed access to a node tree: tables with known fields, strings, integers, lists, each
//! recording its span under its plan path and reporting wrong types and unknown fields.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::diagnostic::Diagnostic;
use super::names::{did_you_mean, index, join};
use super::node::{Entry, Kind, Node};
use crate::{Code, Digest};

/// Tables up to this many entries look for a repeated key by comparing, larger ones with a
/// set.
const SMALL_TABLE: usize = 16;

/// The span of every plan path visited, by path (hashed: paths share long prefixes, which
/// ordered keys compare again and again).
pub(crate) type Spans = HashMap<String, Range<usize>>;

/// The span of `path` in `spans`, or of the nearest enclosing path that has one.
pub(crate) fn span_near(spans: &Spans, path: &str) -> Option<Range<usize>> {
    let mut p = path;
    loop {
        if let Some(s) = spans.get(p) {
            return Some(s.clone());
        }
        let cut = p.rfind(['.', '['])?;
        p = &p[..cut];
    }
}

/// The reading context: collected diagnostics and the span of every plan path visited.
#[derive(Default)]
pub(crate) struct Cx {
    pub diags: Vec<Diagnostic>,
    pub spans: Spans,
}

/// How a message names the table at `path`.
fn where_(path: &str) -> String {
    if path.is_empty() {
        "the plan".to_owned()
    } else {
        format!("`{path}`")
    }
}

/// The entries of a table whose keys have been checked against the schema.
pub(crate) struct Fields<'n> {
    pub path: String,
    entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value of a field, if present.
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    /// The plan path of a field.
    pub fn path(&self, name: &str) -> String {
        join(&self.path, name)
    }
}

impl Cx {
    pub fn error(
        &mut self,
        code: Code,
        path: &str,
        node: Option<&Node>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let span = node
            .and_then(|n| n.span.clone())
            .or_else(|| self.span_near(path));
        self.diags
            .push(Diagnostic::new(code, path, message).with_span(span));
        self.diags.last_mut().expect("just pushed")
    }

    /// The span of `path`, or of the nearest enclosing path that has one.
    pub(crate) fn span_near(&self, path: &str) -> Option<Range<usize>> {
        span_near(&self.spans, path)
    }

    fn visit(&mut self, path: &str, node: &Node) {
        // A table's entries are visited with the table and again when read: the path is
        // copied only the first time.
        if let Some(span) = &node.span
            && !self.spans.contains_key(path)
        {
            self.spans.insert(path.to_owned(), span.clone());
        }
    }

    /// Reports that `node` at `path` is not what the schema expects there.
    pub fn wrong_type(&mut self, path: &str, node: &Node, expected: &str) {
        self.error(
            Code::PlanWrongType,
            path,
            Some(node),
            format!("`{path}` must be {expected}, not {}", node.type_name()),
        );
    }

    /// Reads a table whose keys must be among `known`; unknown keys are reported with a hint.
    pub fn table<'n>(&mut self, path: &str, node: &'n Node, known: &[&str]) -> Option<Fields<'n>> {
        let entries = self.map(path, node)?;
        let mut fields = Vec::new();
        for (key, key_span, value) in entries {
            if known.contains(&key.as_str()) {
                fields.push((key.as_str(), value));
                continue;
            }
            let p = join(path, key);
            let d = self.error(
                Code::PlanUnknownField,
                &p,
                None,
                format!(
                    "unknown field `{key}` in {}; remove it or use a known field",
                    where_(path)
                ),
            );
            d.span = key_span.clone().or_else(|| value.span.clone());
            d.help = Some(match did_you_mean(key, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known fields: {}", list(known)),
            });
        }
        Some(Fields {
            path: path.to_owned(),
            entries: fields,
        })
    }

    /// Reads any table, returning its entries (keys are checked by the caller).
    pub fn map<'n>(&mut self, path: &str, node: &'n Node) -> Option<&'n [Entry]> {
        self.visit(path, node);
        match &node.kind {
            Kind::Table(entries) => {
                // Keys seen so far, in a set once the table is large (a plan of hundreds of
                // components would otherwise compare every pair).
                let mut seen = (entries.len() > SMALL_TABLE)
                    .then(|| HashSet::<&str>::with_capacity(entries.len()));
                for (i, (k, key_span, v)) in entries.iter().enumerate() {
                    let p = join(path, k);
                    self.visit(&p, v);
                    let repeated = match &mut seen {
                        Some(seen) => !seen.insert(k.as_str()),
                        None => entries[..i].iter().any(|(earlier, ..)| earlier == k),
                    };
                    // TOML and canonical CBOR cannot repeat a key, but the macro's token
                    // grammar can: the second one is an error, once however often it is read.
                    if repeated
                        && !self
                            .diags
                            .iter()
                            .any(|d| d.code == Code::PlanDuplicateName && d.path == p)
                    {
                        let d = self.error(
                            Code::PlanDuplicateName,
                            &p,
                            None,
                            format!("`{k}` is given twice in {}; keep one", where_(path)),
                        );
                        d.span = key_span.clone().or_else(|| v.span.clone());
                    }
                }
                Some(entries)
            }
            _ => {
                self.wrong_type(path, node, "a table");
                None
            }
        }
    }

    pub fn string(&mut self, path: &str, node: &Node) -> Option<String> {
        self.visit(path, node);
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(path, node, "a string");
                None
            }
        }
    }

    pub fn boolean(&mut self, path: &str, node: &Node) -> Option<bool> {
        self.visit(path, node);
        match &node.kind {
            Kind::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(path, node, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    /// Reads a non-negative integer; a negative or too large one is a range error.
    pub fn unsigned(&mut self, path: &str, node: &Node) -> Option<u64> {
        self.visit(path, node);
        match &node.kind {
            Kind::Int(n) => match u64::try_from(*n) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(
                        Code::PlanLimitOutOfRange,
                        path,
                        Some(node),
                        format!(
                            "`{path}` is {n}; it must be a whole number from 0 to {}",
                            u64::MAX
                        ),
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(path, node, "an integer");
                None
            }
        }
    }

    /// Reads an array, returning each element with its path.
    pub fn array<'n>(&mut self, path: &str, node: &'n Node) -> Option<Vec<(String, &'n Node)>> {
        self.visit(path, node);
        match &node.kind {
            Kind::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let p = index(path, i);
                        self.visit(&p, n);
                        (p, n)
                    })
                    .collect(),
            ),
            _ => {
                self.wrong_type(path, node, "an array");
                None
            }
        }
    }

    /// Reads an array of strings, each accepted by `valid` (else `what` explains the rule),
    /// reporting duplicates.
    pub fn strings(
        &mut self,
        path: &str,
        node: &Node,
        valid: fn(&str) -> bool,
        what: &str,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (p, n) in self.array(path, node).unwrap_or_default() {
            let Some(s) = self.string(&p, n) else {
                continue;
            };
            if !valid(&s) {
                self.error(
                    Code::PlanBadValue,
                    &p,
                    Some(n),
                    format!("`{s}` is not {what}"),
                );
            } else if out.contains(&s) {
                self.error(
                    Code::PlanDuplicateName,
                    &p,
                    Some(n),
                    format!("`{s}` is listed twice in `{path}`; remove one"),
                );
            } else {
                out.push(s);
            }
        }
        out
    }

    /// Reads a digest string.
    pub fn digest(&mut self, path: &str, node: &Node) -> Option<Digest> {
        let s = self.string(path, node)?;
        match s.parse::<Digest>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(Code::PlanBadValue, path, Some(node), e.to_string());
                None
            }
        }
    }

    /// Reads a string that must be one of `choices`.
    pub fn choice(&mut self, path: &str, node: &Node, choices: &[&str]) -> Option<usize> {
        let s = self.string(path, node)?;
        if let Some(i) = choices.iter().position(|c| *c == s) {
            return Some(i);
        }
        let d = self.error(
            Code::PlanBadValue,
            path,
            Some(node),
            format!("`{path}` is `{s}`; it must be one of {}", list(choices)),
        );
        if let Some(m) = did_you_mean(&s, choices.iter().copied()) {
            d.help = Some(format!("did you mean `{m}`?"));
        }
        None
    }
}

/// `a`, `b` and `c`.
pub(crate) fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: Kind, at: usize) -> Node {
        Node {
            kind,
            span: Some(at..at + 1),
        }
    }

    /// A table of `n` entries `k0`, `k1`, …, with `k{again}` given a second time at the end.
    fn table(n: usize, again: usize) -> Node {
        let mut entries: Vec<Entry> = (0..n)
            .map(|i| (format!("k{i}"), None, node(Kind::Bool(true), i)))
            .collect();
        entries.push((format!("k{again}"), None, node(Kind::Bool(false), n)));
        node(Kind::Table(entries), 0)
    }

    #[test]
    fn a_repeated_key_is_reported_once_in_small_and_large_tables() {
        for n in [3, SMALL_TABLE, SMALL_TABLE + 1, 300] {
            let mut cx = Cx::default();
            let t = table(n, n / 2);
            // Read twice, as a table may be: still one error.
            cx.map("components", &t).unwrap();
            cx.map("components", &t).unwrap();
            let repeated: Vec<_> = cx
                .diags
                .iter()
                .filter(|d| d.code == Code::PlanDuplicateName)
                .collect();
            assert_eq!(repeated.len(), 1, "{n} entries: {:?}", cx.diags);
            assert_eq!(repeated[0].path, format!("components.k{}", n / 2));
            // Every entry's span is kept under its path (the first one given).
            assert_eq!(cx.span_near("components.k1"), Some(1..2));
            assert_eq!(
                cx.span_near(&format!("components.k{}", n / 2)),
                Some(n / 2..n / 2 + 1)
            );
        }
    }
}
