//! Diagnostic notation (RFC 8949 §8) for any well-formed data item, canonical or not.

use std::fmt::Write;

use super::check::{kind, nest, unexpected_break, utf8};
use super::error::{Error, Result};
use super::float;
use super::head::{self, Reader};
use crate::codes::Code;

/// Renders one well-formed data item in diagnostic notation, e.g. `{"a": 1, "b": [2, 3]}`.
///
/// Indefinite-length items are marked with `_` as in RFC 8949 §8.1 (`[_ 1, 2]`,
/// `(_ h'01', h'02')`); floats use the notation of RFC 8949 Appendix A (`1.5`, `1.0e+300`,
/// `NaN`, `-Infinity`). Duplicate keys and unsorted maps are shown as they are.
pub fn diagnostic(bytes: &[u8]) -> Result<String> {
    render(bytes, false)
}

/// Like [`diagnostic`], but with each array item and map entry on its own line, indented two
/// spaces per level, for reading large items.
pub fn diagnostic_pretty(bytes: &[u8]) -> Result<String> {
    render(bytes, true)
}

fn render(bytes: &[u8], pretty: bool) -> Result<String> {
    let mut r = Reader::new(bytes);
    let mut out = String::new();
    item(&mut r, &mut out, 0, pretty)?;
    r.finish()?;
    Ok(out)
}

/// Arrays and maps whose compact form is at most this long stay on one line in pretty mode.
const INLINE_WIDTH: usize = 60;

fn item(r: &mut Reader<'_>, out: &mut String, depth: usize, pretty: bool) -> Result<()> {
    if pretty && matches!(r.peek()? >> 5, head::ARRAY | head::MAP) {
        let mut probe = Reader {
            buf: r.buf,
            pos: r.pos,
        };
        let mut compact = String::new();
        if item(&mut probe, &mut compact, depth, false).is_ok() && compact.len() <= INLINE_WIDTH {
            out.push_str(&compact);
            r.pos = probe.pos;
            return Ok(());
        }
    }
    let h = r.head()?;
    match (h.major, h.arg) {
        (head::SIMPLE, None) => Err(unexpected_break(h.offset)),
        (head::UNSIGNED, Some(v)) => {
            let _ = write!(out, "{v}");
            Ok(())
        }
        (head::NEGATIVE, Some(v)) => {
            let _ = write!(out, "{}", -1 - i128::from(v));
            Ok(())
        }
        (head::BYTES | head::TEXT, Some(len)) => string(r, out, h.major, len),
        (head::BYTES | head::TEXT, None) => {
            out.push_str("(_ ");
            let mut first = true;
            while r.peek()? != head::BREAK {
                let c = r.head()?;
                let Some(len) = c.arg.filter(|_| c.major == h.major) else {
                    return Err(Error::new(
                        Code::CborBadChunk,
                        c.offset,
                        format!(
                            "a chunk of an indefinite-length {} must be a definite one",
                            kind(h.major)
                        ),
                    ));
                };
                if !first {
                    out.push_str(", ");
                }
                first = false;
                string(r, out, h.major, len)?;
            }
            r.pos += 1;
            out.push(')');
            Ok(())
        }
        (head::ARRAY, len) => {
            let depth = nest(depth, h.offset)?;
            out.push('[');
            if len.is_none() {
                out.push_str("_ ");
            }
            let mut i = 0u64;
            loop {
                match len {
                    Some(n) if i == n => break,
                    Some(n) => r.ensure_items(h.offset, n - i)?,
                    None if r.peek()? == head::BREAK => {
                        r.pos += 1;
                        break;
                    }
                    None => {}
                }
                separator(out, i > 0, depth, pretty);
                item(r, out, depth, pretty)?;
                i += 1;
            }
            close(out, i > 0, depth - 1, pretty);
            out.push(']');
            Ok(())
        }
        (head::MAP, len) => {
            let depth = nest(depth, h.offset)?;
            out.push('{');
            if len.is_none() {
                out.push_str("_ ");
            }
            let mut i = 0u64;
            loop {
                match len {
                    Some(n) if i == n => break,
                    Some(n) => r.ensure_items(h.offset, (n - i).saturating_mul(2))?,
                    None if r.peek()? == head::BREAK => {
                        r.pos += 1;
                        break;
                    }
                    None => {}
                }
                separator(out, i > 0, depth, pretty);
                item(r, out, depth, pretty)?;
                out.push_str(": ");
                if r.peek()? == head::BREAK {
                    return Err(unexpected_break(r.pos));
                }
                item(r, out, depth, pretty)?;
                i += 1;
            }
            close(out, i > 0, depth - 1, pretty);
            out.push('}');
            Ok(())
        }
        (head::TAG, Some(tag)) => {
            let depth = nest(depth, h.offset)?;
            let _ = write!(out, "{tag}(");
            item(r, out, depth, pretty)?;
            out.push(')');
            Ok(())
        }
        (_, Some(v)) => {
            match h.info {
                20 => out.push_str("false"),
                21 => out.push_str("true"),
                22 => out.push_str("null"),
                23 => out.push_str("undefined"),
                25..=27 => out.push_str(&format_float(float::decode(h.info, v))),
                _ => {
                    let _ = write!(out, "simple({v})");
                }
            }
            Ok(())
        }
        (_, None) => unreachable!("Reader::head rejects indefinite integers and tags"),
    }
}

/// Before an item of an array or map: `, ` between items, or a new indented line.
fn separator(out: &mut String, after_first: bool, depth: usize, pretty: bool) {
    if after_first {
        out.push(',');
        if !pretty {
            out.push(' ');
        }
    }
    if pretty {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
}

/// Before the closing bracket of a non-empty array or map in pretty mode.
fn close(out: &mut String, any: bool, depth: usize, pretty: bool) {
    if pretty && any {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
}

fn string(r: &mut Reader<'_>, out: &mut String, major: u8, len: u64) -> Result<()> {
    let start = r.pos;
    let data = r.take(len)?;
    if major == head::BYTES {
        out.push_str("h'");
        for b in data {
            let _ = write!(out, "{b:02x}");
        }
        out.push('\'');
    } else {
        let text = utf8(data, start)?;
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                ' '..='~' => out.push(c),
                _ => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{u:04x}");
                    }
                }
            }
        }
        out.push('"');
    }
    Ok(())
}

/// Formats a float the way RFC 8949 Appendix A does: the shortest digits that round-trip,
/// in positional notation for exponents from -7 to 20 and `d.ddde±x` otherwise, always with a
/// fraction (`100000.0`, `1.0e+300`).
pub(crate) fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1;
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}.0", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let rest = if k > 1 { &digits[1..] } else { "0" };
        let e = n - 1;
        let esign = if e < 0 { "-" } else { "+" };
        format!("{}.{rest}e{esign}{}", &digits[..1], e.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn floats_read_like_the_rfc() {
        for (x, s) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.1, "1.1"),
            (1.5, "1.5"),
            (65504.0, "65504.0"),
            (100000.0, "100000.0"),
            (3.4028234663852886e+38, "3.4028234663852886e+38"),
            (1.0e+300, "1.0e+300"),
            (5.960464477539063e-8, "5.960464477539063e-8"),
            (0.00006103515625, "0.00006103515625"),
            (-4.0, "-4.0"),
            (-4.1, "-4.1"),
        ] {
            assert_eq!(format_float(x), s);
        }
    }
}
