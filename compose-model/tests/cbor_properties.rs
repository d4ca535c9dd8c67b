//! Property tests of the canonical CBOR profile: canonicalization is idempotent and agrees with
//! the canonical encoder, whatever legal encoding choices the input made; decode inverts encode;
//! and no input, however hostile, makes a reader panic.

use compose_model::Code;
use compose_model::cbor::{self, Value};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(Value::Unsigned),
        any::<u64>().prop_map(Value::Negative),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
        "[a-z\u{e9}\u{6c34}\u{10151}]{0,8}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(Value::Undefined),
        prop_oneof![0u8..20, 32u8..=255].prop_map(Value::Simple),
        prop_oneof![
            any::<f64>(),
            any::<f32>().prop_map(f64::from),
            any::<u16>().prop_map(|b| half::f16::from_bits(b).to_f64()),
            Just(-0.0),
            Just(f64::NAN),
        ]
        .prop_map(Value::Float),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..5).prop_map(Value::Map),
            (4u64..100_000, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
        ]
    })
}

/// A tiny deterministic generator for encoding choices.
struct Choices(u64);

impl Choices {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Writes a head with any legal width at least as wide as needed.
fn head(out: &mut Vec<u8>, major: u8, arg: u64, c: &mut Choices) {
    let min = match arg {
        0..=23 => 0,
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 3,
        _ => 4,
    };
    let width = min + c.next(5 - min);
    let m = major << 5;
    match width {
        0 => out.push(m | arg as u8),
        1 => out.extend_from_slice(&[m | 24, arg as u8]),
        2 => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        3 => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// Encodes `v` with random legal but non-canonical choices.
fn loose(v: &Value, out: &mut Vec<u8>, c: &mut Choices) {
    match v {
        Value::Unsigned(n) => head(out, 0, *n, c),
        Value::Negative(n) => head(out, 1, *n, c),
        Value::Bytes(b) => string(out, 2, b, c, |_| true),
        Value::Text(t) => string(out, 3, t.as_bytes(), c, |i| t.is_char_boundary(i)),
        Value::Array(items) => {
            let indefinite = c.next(2) == 1;
            if indefinite {
                out.push(0x9f);
            } else {
                head(out, 4, items.len() as u64, c);
            }
            for i in items {
                loose(i, out, c);
            }
            if indefinite {
                out.push(0xff);
            }
        }
        Value::Map(entries) => {
            let mut order: Vec<usize> = (0..entries.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, c.next(i as u64 + 1) as usize);
            }
            let indefinite = c.next(2) == 1;
            if indefinite {
                out.push(0xbf);
            } else {
                head(out, 5, entries.len() as u64, c);
            }
            for i in order {
                loose(&entries[i].0, out, c);
                loose(&entries[i].1, out, c);
            }
            if indefinite {
                out.push(0xff);
            }
        }
        Value::Tag(t, inner) => {
            head(out, 6, *t, c);
            loose(inner, out, c);
        }
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Null => out.push(0xf6),
        Value::Undefined => out.push(0xf7),
        Value::Simple(s) if *s < 24 => out.push(0xe0 | s),
        Value::Simple(s) => out.extend_from_slice(&[0xf8, *s]),
        Value::Float(x) => float(out, *x, c),
    }
}

fn string(
    out: &mut Vec<u8>,
    major: u8,
    data: &[u8],
    c: &mut Choices,
    boundary: impl Fn(usize) -> bool,
) {
    if c.next(3) != 0 {
        head(out, major, data.len() as u64, c);
        out.extend_from_slice(data);
        return;
    }
    out.push((major << 5) | 31);
    let mut start = 0;
    while start < data.len() {
        let mut end = start + 1 + c.next(4) as usize;
        while end < data.len() && !boundary(end) {
            end += 1;
        }
        let end = end.min(data.len());
        head(out, major, (end - start) as u64, c);
        out.extend_from_slice(&data[start..end]);
        start = end;
    }
    if c.next(2) == 0 {
        head(out, major, 0, c);
    }
    out.push(0xff);
}

fn float(out: &mut Vec<u8>, x: f64, c: &mut Choices) {
    if x.is_nan() {
        match c.next(3) {
            0 => out.extend_from_slice(&[0xf9, 0x7e, 0x00]),
            1 => {
                out.push(0xfa);
                out.extend_from_slice(&0x7fc0_0001u32.to_be_bytes());
            }
            _ => {
                out.push(0xfb);
                out.extend_from_slice(&0xfff8_0000_0000_0000u64.to_be_bytes());
            }
        }
        return;
    }
    let h = half::f16::from_f64(x);
    let s = x as f32;
    let fits16 = h.to_f64().to_bits() == x.to_bits();
    let fits32 = f64::from(s).to_bits() == x.to_bits();
    match c.next(3) {
        0 if fits16 => {
            out.push(0xf9);
            out.extend_from_slice(&h.to_bits().to_be_bytes());
        }
        1 if fits32 => {
            out.push(0xfa);
            out.extend_from_slice(&s.to_bits().to_be_bytes());
        }
        _ => {
            out.push(0xfb);
            out.extend_from_slice(&x.to_bits().to_be_bytes());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// encode → check accepts; decode(encode(x)) encodes to the same bytes.
    #[test]
    fn decode_inverts_encode(v in value()) {
        let Ok(bytes) = cbor::encode(&v) else { return Ok(()) };
        prop_assert_eq!(cbor::check(&bytes), Ok(()));
        let back = cbor::decode(&bytes).unwrap();
        prop_assert_eq!(cbor::encode(&back).unwrap(), bytes);
    }

    /// Any legal encoding canonicalizes to the canonical encoding, and canonicalizing again
    /// changes nothing.
    #[test]
    fn canonicalize_agrees_and_is_idempotent(v in value(), seed in 1u64..) {
        let mut wire = Vec::new();
        loose(&v, &mut wire, &mut Choices(seed));
        match cbor::encode(&v) {
            Ok(canonical) => {
                let once = cbor::canonicalize(&wire).unwrap();
                prop_assert_eq!(&once, &canonical);
                prop_assert_eq!(cbor::canonicalize(&once).unwrap(), once.clone());
                prop_assert_eq!(cbor::check(&once), Ok(()));
                // The loose form is canonical exactly when it equals the canonical bytes.
                prop_assert_eq!(cbor::check(&wire).is_ok(), wire == canonical);
            }
            Err(e) => {
                prop_assert_eq!(e.code, Code::CborDuplicateKey);
                prop_assert_eq!(cbor::canonicalize(&wire).unwrap_err().code, Code::CborDuplicateKey);
            }
        }
    }

    /// Arbitrary bytes never panic any reader; whatever `check` accepts is its own canonical
    /// form, and whatever `canonicalize` returns is accepted by `check`.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let checked = cbor::check(&bytes);
        let canon = cbor::canonicalize(&bytes);
        let _ = cbor::diagnostic(&bytes);
        if checked.is_ok() {
            prop_assert_eq!(canon.as_deref().ok(), Some(&bytes[..]));
        }
        if let Ok(c) = &canon {
            prop_assert_eq!(cbor::check(c), Ok(()));
            prop_assert!(cbor::diagnostic(c).is_ok());
        }
    }
}
