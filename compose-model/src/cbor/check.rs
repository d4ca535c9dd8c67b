//! The strict checker: accepts exactly the canonical encodings of the profile, without building
//! a value tree, and reports the first violated rule with its byte offset.

use super::MAX_DEPTH;
use super::error::{Error, Result};
use super::float;
use super::head::{self, Head, Reader};
use crate::codes::Code;

/// Checks that `bytes` is exactly one data item in the canonical CBOR profile.
///
/// Returns the first violation found, reading from the start: not well-formed, invalid (UTF-8,
/// duplicate keys, tag content) or not canonical (argument width, indefinite length, float width,
/// NaN, key order, bignum form).
///
/// Input that is not even well-formed and valid is reported as such, never merely as "not
/// canonical": when the first violation is a canonical-form rule, the rest of the input is read
/// leniently and any well-formedness or validity error found there is reported instead.
pub fn check(bytes: &[u8]) -> Result<()> {
    strict(bytes).map_err(|e| {
        if e.is_repairable()
            && let Err(worse) = super::canonicalize(bytes)
        {
            return worse;
        }
        e
    })
}

fn strict(bytes: &[u8]) -> Result<()> {
    let mut r = Reader::new(bytes);
    item(&mut r, 0)?;
    r.finish()?;
    Ok(())
}

/// Reads a head and requires the shortest argument and a definite length.
fn strict_head(r: &mut Reader<'_>) -> Result<Head> {
    let h = r.head()?;
    if h.arg.is_none() {
        if h.major == head::SIMPLE {
            return Err(unexpected_break(h.offset));
        }
        return Err(Error::new(
            Code::CborIndefiniteLength,
            h.offset,
            format!("indefinite-length {}; use a definite length", kind(h.major)),
        ));
    }
    if h.major != head::SIMPLE && !h.is_shortest() {
        return Err(Error::new(
            Code::CborLongArgument,
            h.offset,
            format!(
                "{} argument {} written in {} bytes; the shortest form takes {}",
                kind(h.major),
                h.arg.unwrap_or(0),
                arg_len(h.info),
                head::head_len(h.arg.unwrap_or(0)) - 1
            ),
        ));
    }
    Ok(h)
}

fn item(r: &mut Reader<'_>, depth: usize) -> Result<()> {
    let h = strict_head(r)?;
    let arg = h.arg.unwrap_or(0);
    match h.major {
        head::UNSIGNED | head::NEGATIVE => Ok(()),
        head::BYTES => r.take(arg).map(drop),
        head::TEXT => {
            let start = r.pos;
            let text = r.take(arg)?;
            utf8(text, start).map(drop)
        }
        head::ARRAY => {
            let depth = nest(depth, h.offset)?;
            r.ensure_items(h.offset, arg)?;
            for _ in 0..arg {
                item(r, depth)?;
            }
            Ok(())
        }
        head::MAP => {
            let depth = nest(depth, h.offset)?;
            r.ensure_items(h.offset, arg.saturating_mul(2))?;
            let mut previous: Option<&[u8]> = None;
            for _ in 0..arg {
                let key_start = r.pos;
                item(r, depth)?;
                let key = &r.buf[key_start..r.pos];
                if let Some(prev) = previous {
                    match prev.cmp(key) {
                        std::cmp::Ordering::Less => {}
                        std::cmp::Ordering::Equal => return Err(duplicate(key_start)),
                        std::cmp::Ordering::Greater => {
                            return Err(Error::new(
                                Code::CborUnsortedKeys,
                                key_start,
                                "map key sorts before the previous key; sort keys bytewise by their encoded bytes",
                            ));
                        }
                    }
                }
                previous = Some(key);
                item(r, depth)?;
            }
            Ok(())
        }
        head::TAG => {
            let depth = nest(depth, h.offset)?;
            let content = r.pos;
            if arg <= 3 {
                let ch = peek_content(r, h.offset)?;
                tag_content(arg, &ch, h.offset)?;
                if arg >= 2 {
                    // The bignum content is a definite byte string (checked just above).
                    let ch = strict_head(r)?;
                    let bytes = r.take(ch.arg.unwrap_or(0))?;
                    return bignum(bytes, content);
                }
            }
            item(r, depth)
        }
        _ => simple(&h),
    }
}

/// Checks a major type 7 item: simple values and floats.
fn simple(h: &Head) -> Result<()> {
    match h.info {
        25..=27 => {
            let bits = h.arg.unwrap_or(0);
            let value = float::decode(h.info, bits);
            let (info, short) = float::shortest(value);
            if value.is_nan() {
                if h.info != 25 || bits != u64::from(float::CANONICAL_NAN_F16) {
                    return Err(Error::new(
                        Code::CborNonCanonicalNan,
                        h.offset,
                        "NaN must be encoded as f97e00",
                    ));
                }
            } else if info != h.info {
                debug_assert!(info < h.info);
                return Err(Error::new(
                    Code::CborLongFloat,
                    h.offset,
                    format!(
                        "float {value:?} written in {} bytes; {} bytes hold it exactly ({short:#x})",
                        arg_len(h.info),
                        arg_len(info)
                    ),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What the content of a tag starts with: its major type and whether it is definite.
pub(crate) struct ContentHead {
    pub major: u8,
    pub info: u8,
}

fn peek_content(r: &Reader<'_>, tag_offset: usize) -> Result<ContentHead> {
    let b = r.buf.get(r.pos).copied().ok_or_else(|| {
        Error::new(
            Code::CborTruncated,
            tag_offset,
            "tag has no content: the input ends after it",
        )
    })?;
    Ok(ContentHead {
        major: b >> 5,
        info: b & 0x1f,
    })
}

/// Validity of the content of tags 0-3 (RFC 8949 §3.4.1-§3.4.3): 0 takes a text string, 1 an
/// integer or float, 2 and 3 a byte string.
pub(crate) fn tag_content(tag: u64, content: &ContentHead, offset: usize) -> Result<()> {
    let ok = match tag {
        0 => content.major == head::TEXT,
        1 => {
            matches!(content.major, head::UNSIGNED | head::NEGATIVE)
                || (content.major == head::SIMPLE && (25..=27).contains(&content.info))
        }
        2 | 3 => content.major == head::BYTES,
        _ => true,
    };
    if ok {
        return Ok(());
    }
    let wanted = match tag {
        0 => "a text string (a date/time)",
        1 => "an integer or a float (epoch seconds)",
        _ => "a byte string (a bignum)",
    };
    Err(Error::new(
        Code::CborBadTagContent,
        offset,
        format!("tag {tag} must enclose {wanted}"),
    ))
}

/// Preferred serialization of bignums (RFC 8949 §3.4.3): no leading zero bytes, and never a
/// value that fits in a basic integer.
fn bignum(bytes: &[u8], offset: usize) -> Result<()> {
    if bytes.first() == Some(&0) {
        return Err(Error::new(
            Code::CborLongBignum,
            offset,
            "bignum has leading zero bytes; drop them",
        ));
    }
    if bytes.len() <= 8 {
        return Err(Error::new(
            Code::CborLongBignum,
            offset,
            "bignum fits in 64 bits; write it as a major type 0 or 1 integer",
        ));
    }
    Ok(())
}

pub(crate) fn utf8(text: &[u8], offset: usize) -> Result<&str> {
    std::str::from_utf8(text).map_err(|e| {
        Error::new(
            Code::CborInvalidUtf8,
            offset + e.valid_up_to(),
            "text string is not valid UTF-8",
        )
    })
}

pub(crate) fn nest(depth: usize, offset: usize) -> Result<usize> {
    if depth >= MAX_DEPTH {
        return Err(Error::new(
            Code::CborTooDeep,
            offset,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(depth + 1)
}

pub(crate) fn duplicate(offset: usize) -> Error {
    Error::new(
        Code::CborDuplicateKey,
        offset,
        "map key equals an earlier key of the same map",
    )
}

pub(crate) fn unexpected_break(offset: usize) -> Error {
    Error::new(
        Code::CborUnexpectedBreak,
        offset,
        "break (0xff) where no indefinite-length item is open, or where a map value is due",
    )
}

pub(crate) fn kind(major: u8) -> &'static str {
    match major {
        head::UNSIGNED => "unsigned integer",
        head::NEGATIVE => "negative integer",
        head::BYTES => "byte string",
        head::TEXT => "text string",
        head::ARRAY => "array",
        head::MAP => "map",
        head::TAG => "tag",
        _ => "simple value",
    }
}

fn arg_len(info: u8) -> usize {
    match info {
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => 0,
    }
}
