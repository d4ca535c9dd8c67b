//! The canonical CBOR profile (`canon:cbor`): RFC 8949 §4.2.1 core deterministic encoding,
//! checked strictly.
//!
//! The profile, in full:
//! - preferred (shortest) serialization of integers, lengths and tag arguments;
//! - floats in the shortest of f16, f32 and f64 that keeps the exact value (`-0.0` keeps its
//!   sign), NaN only as `f97e00`;
//! - bignums (tags 2 and 3) without leading zero bytes, and only when the value does not fit a
//!   basic integer (RFC 8949 §3.4.3);
//! - definite lengths only;
//! - map keys sorted bytewise lexicographically by their encoded bytes (§4.2.1, not the
//!   length-first order of RFC 7049 §3.9), no duplicate keys;
//! - text strings valid UTF-8; tags 0-3 enclose the type their definition requires;
//! - exactly one data item, nothing after it; nesting at most [`MAX_DEPTH`] levels.
//!
//! Why by hand: ciborium (used for serde) reads and writes CBOR, but no maintained crate checks
//! the deterministic profile strictly with byte offsets, or canonicalizes arbitrary input. All
//! readers here bound every declared length by the bytes that remain before using it, and
//! limit recursion, so hostile input can neither allocate nor overflow the stack.

mod canon;
mod check;
mod diag;
mod error;
mod float;
mod head;
mod serde_api;
mod value;

pub use canon::{canonicalize, canonicalize_into};
pub use check::check;
pub use diag::{diagnostic, diagnostic_pretty};
pub use error::{Error, Result};
pub use serde_api::{SerdeError, from_canonical_slice, to_canonical_vec};
pub use value::{Value, decode, encode};

/// The deepest nesting of arrays, maps and tags the profile accepts.
pub const MAX_DEPTH: usize = 128;

/// Whether `bytes` is canonical: a shorthand for `check(bytes).is_ok()`.
pub fn is_canonical(bytes: &[u8]) -> bool {
    check(bytes).is_ok()
}
