//! A small document tree that every plan syntax is read into (TOML, CBOR, and the tokens of the
//! `compose!` macro), with spans where the source has them, so one reader gives the same errors
//! for all of them.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::cbor::Value;

/// A value of the document, with its span in the source.
///
/// Spans are ranges of whatever the front end counts: bytes of a TOML file, or token numbers
/// of a macro invocation (the macro maps them back to its tokens' spans).
#[derive(Clone, Debug)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where it is in the source, if the source has positions.
    pub span: Option<Range<usize>>,
}

/// A table entry: key, the key's span, value.
pub type Entry = (String, Option<Range<usize>>, Node);

/// The kinds of values a plan document holds.
#[derive(Clone, Debug)]
pub enum Kind {
    /// Entries in source order: key, the key's span, value.
    Table(Vec<Entry>),
    /// Elements in order.
    Array(Vec<Node>),
    /// A string.
    Str(String),
    /// An integer.
    Int(i128),
    /// A boolean.
    Bool(bool),
    /// Anything the schema never uses (floats, datetimes, byte strings, tags…), by kind name.
    Other(&'static str),
}

impl Node {
    /// A name for the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Table(_) => "a table",
            Kind::Array(_) => "an array",
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Bool(_) => "a boolean",
            Kind::Other(k) => k,
        }
    }
}

/// Parses a TOML document into a node tree; a syntax error keeps its message and span.
pub(crate) fn from_toml(source: &str) -> Result<Node, toml::de::Error> {
    let doc = DeTable::parse(source)?;
    let span = doc.span();
    Ok(Node {
        kind: toml_table(doc.into_inner()),
        span: Some(span),
    })
}

fn toml_table(table: DeTable<'_>) -> Kind {
    let mut entries: Vec<_> = table
        .into_iter()
        .map(|(k, v)| {
            let key_span = k.span();
            (k.into_inner().into_owned(), Some(key_span), toml_value(v))
        })
        .collect();
    entries.sort_by_key(|(_, span, _)| span.as_ref().map_or(0, |s| s.start));
    Kind::Table(entries)
}

fn toml_value(v: toml::Spanned<DeValue<'_>>) -> Node {
    let span = v.span();
    let kind = match v.into_inner() {
        DeValue::String(s) => Kind::Str(s.into_owned()),
        DeValue::Integer(i) => {
            let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
            let (negative, digits) = match digits.strip_prefix('-') {
                Some(d) => (true, d.to_owned()),
                None => (false, digits.trim_start_matches('+').to_owned()),
            };
            match i128::from_str_radix(&digits, i.radix()) {
                Ok(n) => Kind::Int(if negative { -n } else { n }),
                Err(_) => Kind::Other("an integer too large"),
            }
        }
        DeValue::Float(_) => Kind::Other("a float"),
        DeValue::Boolean(b) => Kind::Bool(b),
        DeValue::Datetime(_) => Kind::Other("a datetime"),
        DeValue::Array(items) => Kind::Array(items.into_iter().map(toml_value).collect()),
        DeValue::Table(t) => toml_table(t),
    };
    Node {
        kind,
        span: Some(span),
    }
}

/// Converts a decoded CBOR value into a node tree. Map keys must be text strings; other keys
/// become an entry the reader reports as unknown.
pub(crate) fn from_cbor(value: Value) -> Node {
    let kind = match value {
        Value::Map(entries) => Kind::Table(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(t) => t,
                        other => format!("<{} key>", other.kind()),
                    };
                    (key, None, from_cbor(v))
                })
                .collect(),
        ),
        Value::Array(items) => Kind::Array(items.into_iter().map(from_cbor).collect()),
        Value::Text(t) => Kind::Str(t),
        Value::Unsigned(n) => Kind::Int(i128::from(n)),
        Value::Negative(n) => Kind::Int(-1 - i128::from(n)),
        Value::Bool(b) => Kind::Bool(b),
        Value::Bytes(_) => Kind::Other("a byte string"),
        Value::Tag(..) => Kind::Other("a tagged value"),
        Value::Float(_) => Kind::Other("a float"),
        Value::Null | Value::Undefined | Value::Simple(_) => Kind::Other("a simple value"),
    };
    Node { kind, span: None }
}
