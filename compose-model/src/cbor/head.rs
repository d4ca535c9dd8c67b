//! Reading and writing the head of a data item: the initial byte and its argument.

use super::error::{Error, Result};
use crate::codes::Code;

/// Major types (RFC 8949 §3.1).
pub(crate) const UNSIGNED: u8 = 0;
pub(crate) const NEGATIVE: u8 = 1;
pub(crate) const BYTES: u8 = 2;
pub(crate) const TEXT: u8 = 3;
pub(crate) const ARRAY: u8 = 4;
pub(crate) const MAP: u8 = 5;
pub(crate) const TAG: u8 = 6;
pub(crate) const SIMPLE: u8 = 7;

/// The break stop code that ends an indefinite-length item.
pub(crate) const BREAK: u8 = 0xff;

/// A decoded head.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    /// Offset of the initial byte.
    pub offset: usize,
    /// Major type, 0-7.
    pub major: u8,
    /// Additional information, the low five bits of the initial byte.
    pub info: u8,
    /// The argument; `None` for indefinite length (info 31).
    pub arg: Option<u64>,
}

impl Head {
    /// Whether the argument is written in the shortest form that holds it.
    pub fn is_shortest(&self) -> bool {
        match (self.info, self.arg) {
            (24, Some(v)) => v >= 24,
            (25, Some(v)) => v > 0xff,
            (26, Some(v)) => v > 0xffff,
            (27, Some(v)) => v > 0xffff_ffff,
            _ => true,
        }
    }
}

/// A cursor over the input that reads heads and payloads with bounds checks.
pub(crate) struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next byte, without consuming it.
    pub fn peek(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| truncated(self.pos, 1, 0))
    }

    /// Reads one head. Checks well-formedness of the head itself (reserved information values,
    /// indefinite length where it is not allowed, two-byte simple values below 32), not whether
    /// the argument is in its shortest form: callers decide that.
    pub fn head(&mut self) -> Result<Head> {
        let offset = self.pos;
        let initial = self.peek()?;
        self.pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(u64::from(self.take(1)?[0])),
            25 => Some(u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().unwrap(),
            ))),
            26 => Some(u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().unwrap(),
            ))),
            27 => Some(u64::from_be_bytes(self.take(8)?.try_into().unwrap())),
            28..=30 => {
                return Err(Error::new(
                    Code::CborReservedInfo,
                    offset,
                    format!(
                        "initial byte 0x{initial:02x} uses reserved additional information {info}"
                    ),
                ));
            }
            _ => {
                if matches!(major, UNSIGNED | NEGATIVE | TAG) {
                    return Err(Error::new(
                        Code::CborBadIndefinite,
                        offset,
                        format!(
                            "initial byte 0x{initial:02x}: major type {major} has no indefinite length"
                        ),
                    ));
                }
                None
            }
        };
        if major == SIMPLE && info == 24 && arg.is_some_and(|v| v < 32) {
            return Err(Error::new(
                Code::CborBadSimple,
                offset,
                format!(
                    "two-byte simple value {} must be 32 or more",
                    arg.unwrap_or(0)
                ),
            ));
        }
        Ok(Head {
            offset,
            major,
            info,
            arg,
        })
    }

    /// Consumes `len` bytes; a length longer than the input is an error before any allocation.
    pub fn take(&mut self, len: u64) -> Result<&'a [u8]> {
        let have = self.remaining();
        if len > have as u64 {
            return Err(truncated(self.pos, len, have));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// Requires that the whole input was one data item: nothing may follow it.
    pub fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(Error::new(
                Code::CborTrailingBytes,
                self.pos,
                format!("{} bytes follow the first data item", self.remaining()),
            ));
        }
        Ok(())
    }

    /// Checks that `count` items, each at least one byte, can still fit in the input, so a
    /// declared length is never trusted beyond what the input holds.
    pub fn ensure_items(&self, offset: usize, count: u64) -> Result<()> {
        if count > self.remaining() as u64 {
            return Err(Error::new(
                Code::CborTruncated,
                offset,
                format!(
                    "declares {count} items but only {} bytes remain",
                    self.remaining()
                ),
            ));
        }
        Ok(())
    }
}

fn truncated(offset: usize, wanted: u64, have: usize) -> Error {
    Error::new(
        Code::CborTruncated,
        offset,
        format!("needs {wanted} more bytes but only {have} remain"),
    )
}

/// Writes a head with the shortest encoding of `arg`.
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// The length of the head `write_head` would write for `arg`.
pub(crate) fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}
