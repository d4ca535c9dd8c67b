//! Floats: decoding the three widths and choosing the shortest one that keeps a value exactly.

use half::f16;

/// The canonical NaN, `f97e00`.
pub(crate) const CANONICAL_NAN_F16: u16 = 0x7e00;

/// Decodes a float from the additional information (25, 26, 27) and raw argument bits.
pub(crate) fn decode(info: u8, bits: u64) -> f64 {
    match info {
        25 => f16::from_bits(bits as u16).to_f64(),
        26 => f64::from(f32::from_bits(bits as u32)),
        _ => f64::from_bits(bits),
    }
}

/// The width (additional information 25, 26 or 27) and bits of the shortest encoding that keeps
/// `x` exactly, bit for bit (so `-0.0` keeps its sign). Every NaN becomes `f97e00`.
pub(crate) fn shortest(x: f64) -> (u8, u64) {
    if x.is_nan() {
        return (25, u64::from(CANONICAL_NAN_F16));
    }
    let h = f16::from_f64(x);
    if h.to_f64().to_bits() == x.to_bits() {
        return (25, u64::from(h.to_bits()));
    }
    let s = x as f32;
    if f64::from(s).to_bits() == x.to_bits() {
        return (26, u64::from(s.to_bits()));
    }
    (27, x.to_bits())
}

/// Writes `x` in its canonical encoding.
pub(crate) fn write(out: &mut Vec<u8>, x: f64) {
    let (info, bits) = shortest(x);
    out.push(0xe0 | info);
    match info {
        25 => out.extend_from_slice(&(bits as u16).to_be_bytes()),
        26 => out.extend_from_slice(&(bits as u32).to_be_bytes()),
        _ => out.extend_from_slice(&bits.to_be_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_keeps_values_and_signs() {
        assert_eq!(shortest(0.0), (25, 0x0000));
        assert_eq!(shortest(-0.0), (25, 0x8000));
        assert_eq!(shortest(1.5), (25, 0x3e00));
        assert_eq!(shortest(65504.0), (25, 0x7bff));
        assert_eq!(shortest(100000.0), (26, 0x47c3_5000));
        assert_eq!(shortest(5.960464477539063e-8), (25, 0x0001));
        assert_eq!(shortest(1.1), (27, 1.1f64.to_bits()));
        assert_eq!(shortest(f64::INFINITY), (25, 0x7c00));
        assert_eq!(shortest(f64::NAN), (25, 0x7e00));
        assert_eq!(shortest(-f64::NAN), (25, 0x7e00));
    }
}
