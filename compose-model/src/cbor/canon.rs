//! The canonicalizer: any well-formed, valid data item to its canonical bytes.
//!
//! It streams: items are re-encoded into the output as they are read, and only map entries are
//! moved afterwards, by sorting their byte ranges. No value tree is built.

use super::check::{ContentHead, duplicate, kind, nest, tag_content, unexpected_break, utf8};
use super::error::{Error, Result};
use super::float;
use super::head::{self, Reader, write_head};
use crate::codes::Code;

/// Re-encodes one well-formed, valid data item in the canonical profile: shortest arguments,
/// definite lengths, shortest exact floats, `f97e00` for NaN, keys sorted bytewise, bignums in
/// preferred form.
///
/// Fails on input that is not well-formed, has invalid UTF-8 or tag content, or has duplicate
/// keys (compared after canonical encoding).
pub fn canonicalize(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    canonicalize_into(bytes, &mut out)?;
    Ok(out)
}

/// Like [`canonicalize`], appending to `out`.
pub fn canonicalize_into(bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut r = Reader::new(bytes);
    let mut c = Canon {
        scratch: Vec::new(),
    };
    c.item(&mut r, out, 0)?;
    r.finish()?;
    Ok(())
}

/// One map entry written to the output: where its key starts and ends, where its value ends,
/// and where the key was in the input (for error messages).
struct Entry {
    key: usize,
    value: usize,
    end: usize,
    input: usize,
}

struct Canon {
    /// Reused buffer for reordering map entries.
    scratch: Vec<u8>,
}

impl Canon {
    fn item(&mut self, r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<()> {
        let h = r.head()?;
        match (h.major, h.arg) {
            (head::SIMPLE, None) => Err(unexpected_break(h.offset)),
            (head::UNSIGNED | head::NEGATIVE, Some(v)) => {
                write_head(out, h.major, v);
                Ok(())
            }
            (head::BYTES | head::TEXT, Some(len)) => {
                let start = r.pos;
                let data = r.take(len)?;
                if h.major == head::TEXT {
                    utf8(data, start)?;
                }
                write_head(out, h.major, len);
                out.extend_from_slice(data);
                Ok(())
            }
            (head::BYTES | head::TEXT, None) => {
                let mut joined = Vec::new();
                loop {
                    if r.peek()? == head::BREAK {
                        r.pos += 1;
                        break;
                    }
                    let c = r.head()?;
                    let Some(len) = c.arg.filter(|_| c.major == h.major) else {
                        return Err(Error::new(
                            Code::CborBadChunk,
                            c.offset,
                            format!(
                                "a chunk of an indefinite-length {} must be a definite {}",
                                kind(h.major),
                                kind(h.major)
                            ),
                        ));
                    };
                    let start = r.pos;
                    let data = r.take(len)?;
                    if h.major == head::TEXT {
                        utf8(data, start)?;
                    }
                    joined.extend_from_slice(data);
                }
                write_head(out, h.major, joined.len() as u64);
                out.extend_from_slice(&joined);
                Ok(())
            }
            (head::ARRAY, len) => {
                let depth = nest(depth, h.offset)?;
                match len {
                    Some(n) => {
                        r.ensure_items(h.offset, n)?;
                        write_head(out, head::ARRAY, n);
                        for _ in 0..n {
                            self.item(r, out, depth)?;
                        }
                    }
                    None => {
                        let start = out.len();
                        let mut n = 0u64;
                        while r.peek()? != head::BREAK {
                            self.item(r, out, depth)?;
                            n += 1;
                        }
                        r.pos += 1;
                        insert_head(out, start, head::ARRAY, n);
                    }
                }
                Ok(())
            }
            (head::MAP, len) => {
                let depth = nest(depth, h.offset)?;
                let mut entries = Vec::new();
                match len {
                    Some(n) => {
                        r.ensure_items(h.offset, n.saturating_mul(2))?;
                        write_head(out, head::MAP, n);
                        let start = out.len();
                        for _ in 0..n {
                            entries.push(self.entry(r, out, depth)?);
                        }
                        self.sort_entries(out, start, &mut entries)
                    }
                    None => {
                        let start = out.len();
                        while r.peek()? != head::BREAK {
                            entries.push(self.entry(r, out, depth)?);
                        }
                        r.pos += 1;
                        self.sort_entries(out, start, &mut entries)?;
                        insert_head(out, start, head::MAP, entries.len() as u64);
                        Ok(())
                    }
                }
            }
            (head::TAG, Some(tag)) => {
                let depth = nest(depth, h.offset)?;
                if tag <= 3 {
                    let b = r.peek().map_err(|_| {
                        Error::new(Code::CborTruncated, h.offset, "tag has no content")
                    })?;
                    let content = ContentHead {
                        major: b >> 5,
                        info: b & 0x1f,
                    };
                    tag_content(tag, &content, h.offset)?;
                    if tag >= 2 {
                        return self.bignum(r, out, tag, depth);
                    }
                }
                write_head(out, head::TAG, tag);
                self.item(r, out, depth)
            }
            (_, Some(v)) => {
                // Major type 7.
                match h.info {
                    25..=27 => float::write(out, float::decode(h.info, v)),
                    _ => {
                        // Simple values keep their (only) encoding.
                        write_head(out, head::SIMPLE, v)
                    }
                }
                Ok(())
            }
            (_, None) => unreachable!("Reader::head rejects indefinite integers and tags"),
        }
    }

    fn entry(&mut self, r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<Entry> {
        let input = r.pos;
        let key = out.len();
        self.item(r, out, depth)?;
        let value = out.len();
        if r.peek()? == head::BREAK {
            return Err(unexpected_break(r.pos));
        }
        self.item(r, out, depth)?;
        Ok(Entry {
            key,
            value,
            end: out.len(),
            input,
        })
    }

    /// Sorts the entries written at `out[start..]` by their key bytes, rejecting duplicates.
    fn sort_entries(
        &mut self,
        out: &mut Vec<u8>,
        start: usize,
        entries: &mut [Entry],
    ) -> Result<()> {
        let sorted = entries
            .windows(2)
            .all(|w| out[w[0].key..w[0].value] < out[w[1].key..w[1].value]);
        if sorted {
            return Ok(());
        }
        entries.sort_by(|a, b| {
            out[a.key..a.value]
                .cmp(&out[b.key..b.value])
                .then(a.input.cmp(&b.input))
        });
        if let Some(w) = entries
            .windows(2)
            .find(|w| out[w[0].key..w[0].value] == out[w[1].key..w[1].value])
        {
            return Err(duplicate(w[1].input));
        }
        self.scratch.clear();
        for e in entries.iter() {
            self.scratch.extend_from_slice(&out[e.key..e.end]);
        }
        out.truncate(start);
        out.extend_from_slice(&self.scratch);
        Ok(())
    }

    /// Tags 2 and 3: strip leading zeros and write a basic integer when the value fits.
    fn bignum(
        &mut self,
        r: &mut Reader<'_>,
        out: &mut Vec<u8>,
        tag: u64,
        depth: usize,
    ) -> Result<()> {
        let mut content = Vec::new();
        self.item(r, &mut content, depth)?;
        // `content` is a canonical byte string: skip its head.
        let mut cr = Reader::new(&content);
        let ch = cr.head()?;
        let bytes = cr.take(ch.arg.unwrap_or(0))?;
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let digits = &bytes[first..];
        if digits.len() <= 8 {
            let mut v = [0u8; 8];
            v[8 - digits.len()..].copy_from_slice(digits);
            let major = if tag == 2 {
                head::UNSIGNED
            } else {
                head::NEGATIVE
            };
            write_head(out, major, u64::from_be_bytes(v));
        } else {
            write_head(out, head::TAG, tag);
            write_head(out, head::BYTES, digits.len() as u64);
            out.extend_from_slice(digits);
        }
        Ok(())
    }
}

/// Inserts a head in front of the items written at `out[start..]`.
fn insert_head(out: &mut Vec<u8>, start: usize, major: u8, count: u64) {
    let mut h = Vec::with_capacity(9);
    write_head(&mut h, major, count);
    out.splice(start..start, h);
}
