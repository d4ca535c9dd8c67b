//! Content digests, written `sha256:<64 lowercase hex>` everywhere.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A SHA-256 content digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A digest from its raw 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// The 64 lowercase hex digits, without `sha256:`.
    pub fn hex(&self) -> String {
        let mut text = [0u8; 64];
        String::from(self.hex_into(&mut text))
    }

    /// Writes the 64 hex digits into `out` and returns them as text: one piece, so an
    /// unbuffered writer (stderr) gets one write instead of 32.
    fn hex_into<'a>(&self, out: &'a mut [u8; 64]) -> &'a str {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        std::str::from_utf8(out).expect("hex digits are ASCII")
    }
}

/// Bytes and their SHA-256, taken together, so the digest cannot belong to other bytes: hashed
/// once, it serves every check that needs it (a signature's, the compiled-code cache's key).
/// Owned (`Hashed<Vec<u8>>`) or borrowed (`Hashed<&[u8]>`, see [`Hashed::borrowed`]).
#[derive(Clone, Copy, Debug)]
pub struct Hashed<B = Vec<u8>> {
    bytes: B,
    digest: Digest,
}

impl<B: AsRef<[u8]>> Hashed<B> {
    /// `bytes`, hashed now.
    pub fn new(bytes: B) -> Hashed<B> {
        let digest = Digest::of(bytes.as_ref());
        Hashed { bytes, digest }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// Their SHA-256.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The bytes, given up by their digest.
    pub fn into_bytes(self) -> B {
        self.bytes
    }

    /// The same bytes and digest, borrowed.
    pub fn borrowed(&self) -> Hashed<&[u8]> {
        Hashed {
            bytes: self.bytes.as_ref(),
            digest: self.digest,
        }
    }
}

/// Why a string is not a digest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a digest; write `sha256:` followed by 64 lowercase hex digits")]
pub struct DigestParseError(pub String);

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DigestParseError(s.to_owned());
        let hex = s.strip_prefix("sha256:").ok_or_else(err)?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let nibble = |b: u8| if b <= b'9' { b - b'0' } else { b - b'a' + 10 };
            out[i] = nibble(pair[0]) << 4 | nibble(pair[1]);
        }
        Ok(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = *b"sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let (_, digits) = text.split_at_mut(7);
        self.hex_into(digits.try_into().expect("64 digits"));
        f.write_str(std::str::from_utf8(&text).expect("ASCII"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a digest (`sha256:` and 64 lowercase hex digits)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Digest;

    #[test]
    fn known_digest_and_round_trip() {
        let d = Digest::of(b"abc");
        let s = d.to_string();
        assert_eq!(
            s,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.parse::<Digest>().unwrap(), d);
        assert_eq!(d.hex(), s["sha256:".len()..]);
        assert!("sha256:BA78".parse::<Digest>().is_err());
        assert!(s.to_uppercase().parse::<Digest>().is_err());
        assert!(s.replace("sha256:", "sha512:").parse::<Digest>().is_err());
    }
}
