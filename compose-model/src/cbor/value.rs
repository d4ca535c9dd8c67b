//! An owned CBOR value tree, decoded only from canonical bytes and encoded only canonically.

use super::check::check;
use super::error::{Error, Result};
use super::float;
use super::head::{self, Reader, write_head};
use crate::codes::Code;

/// A CBOR data item.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Major type 0: an unsigned integer.
    Unsigned(u64),
    /// Major type 1: the integer `-1 - n`.
    Negative(u64),
    /// Major type 2: a byte string.
    Bytes(Vec<u8>),
    /// Major type 3: a text string.
    Text(String),
    /// Major type 4: an array.
    Array(Vec<Value>),
    /// Major type 5: a map, entries in the order they were read or will be sorted.
    Map(Vec<(Value, Value)>),
    /// Major type 6: a tagged item.
    Tag(u64, Box<Value>),
    /// `false` or `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// Any other simple value (0-19 and 32-255).
    Simple(u8),
    /// A float of any width.
    Float(f64),
}

impl Value {
    /// A short name for the kind of item, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Unsigned(_) | Value::Negative(_) => "integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Tag(..) => "tag",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::Undefined => "undefined",
            Value::Simple(_) => "simple value",
            Value::Float(_) => "float",
        }
    }
}

/// Decodes canonical bytes into a value; anything the strict checker rejects is an error.
pub fn decode(bytes: &[u8]) -> Result<Value> {
    check(bytes)?;
    let mut r = Reader::new(bytes);
    build(&mut r)
}

/// Builds a value from input the checker has accepted, so every head is definite and short.
fn build(r: &mut Reader<'_>) -> Result<Value> {
    let h = r.head()?;
    let arg = h.arg.unwrap_or(0);
    Ok(match h.major {
        head::UNSIGNED => Value::Unsigned(arg),
        head::NEGATIVE => Value::Negative(arg),
        head::BYTES => Value::Bytes(r.take(arg)?.to_vec()),
        head::TEXT => Value::Text(
            std::str::from_utf8(r.take(arg)?)
                .map_err(|_| {
                    Error::new(
                        Code::CborInvalidUtf8,
                        h.offset,
                        "text string is not valid UTF-8",
                    )
                })?
                .to_owned(),
        ),
        head::ARRAY => {
            let mut items = Vec::with_capacity(arg.min(r.remaining() as u64) as usize);
            for _ in 0..arg {
                items.push(build(r)?);
            }
            Value::Array(items)
        }
        head::MAP => {
            let mut entries = Vec::with_capacity(arg.min(r.remaining() as u64) as usize);
            for _ in 0..arg {
                let k = build(r)?;
                entries.push((k, build(r)?));
            }
            Value::Map(entries)
        }
        head::TAG => Value::Tag(arg, Box::new(build(r)?)),
        _ => match h.info {
            20 => Value::Bool(false),
            21 => Value::Bool(true),
            22 => Value::Null,
            23 => Value::Undefined,
            25..=27 => Value::Float(float::decode(h.info, arg)),
            _ => Value::Simple(arg as u8),
        },
    })
}

/// Encodes a value canonically: shortest heads and floats, map keys sorted bytewise by their
/// encoding. Fails on a map with duplicate keys (offsets in the error refer to the output).
pub fn encode(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Unsigned(v) => write_head(out, head::UNSIGNED, *v),
        Value::Negative(v) => write_head(out, head::NEGATIVE, *v),
        Value::Bytes(b) => {
            write_head(out, head::BYTES, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            write_head(out, head::TEXT, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            write_head(out, head::ARRAY, items.len() as u64);
            for item in items {
                write(item, out)?;
            }
        }
        Value::Map(entries) => {
            let mut encoded = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let mut key = Vec::new();
                write(k, &mut key)?;
                let mut val = Vec::new();
                write(v, &mut val)?;
                encoded.push((key, val));
            }
            encoded.sort();
            if encoded.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(Error::new(
                    Code::CborDuplicateKey,
                    out.len(),
                    "map has two equal keys",
                ));
            }
            write_head(out, head::MAP, encoded.len() as u64);
            for (k, v) in encoded {
                out.extend_from_slice(&k);
                out.extend_from_slice(&v);
            }
        }
        Value::Tag(tag, inner) => {
            write_head(out, head::TAG, *tag);
            write(inner, out)?;
        }
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Null => out.push(0xf6),
        Value::Undefined => out.push(0xf7),
        Value::Simple(v) => {
            if (20..32).contains(v) {
                return Err(Error::new(
                    Code::CborBadSimple,
                    out.len(),
                    format!("simple({v}) is reserved or has its own name"),
                ));
            }
            write_head(out, head::SIMPLE, u64::from(*v));
        }
        Value::Float(x) => float::write(out, *x),
    }
    Ok(())
}
