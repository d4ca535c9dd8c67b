//! How records sit in the log file: each is a frame of its length (4 bytes, big-endian), its
//! bytes, and a checksum (the first 4 bytes of their SHA-256). Written here because the format
//! is this log's own; the checksum only finds torn writes and flipped bits early, with the
//! record's index: the Merkle tree and the signed checkpoint are what make the log tamper-evident.

use sha2::{Digest, Sha256};

/// The largest record a frame holds.
pub const MAX_RECORD: usize = 64 * 1024;

/// The bytes around a record: length and checksum.
pub const OVERHEAD: usize = 8;

/// A record's frame.
pub fn frame(record: &[u8]) -> Vec<u8> {
    assert!(
        record.len() <= MAX_RECORD,
        "a record is at most {MAX_RECORD} bytes"
    );
    let mut out = Vec::with_capacity(record.len() + OVERHEAD);
    out.extend_from_slice(&(record.len() as u32).to_be_bytes());
    out.extend_from_slice(record);
    out.extend_from_slice(&checksum(record));
    out
}

fn checksum(record: &[u8]) -> [u8; 4] {
    let d = Sha256::digest(record);
    [d[0], d[1], d[2], d[3]]
}

/// What reading a log file found.
#[derive(Debug, Default)]
pub struct Scan<'a> {
    /// The intact frames' records, in order, with the offset of each frame.
    pub records: Vec<(usize, &'a [u8])>,
    /// Where the intact frames end (the file's length when nothing follows them).
    pub end: usize,
    /// Why reading stopped before the end of the file, if it did.
    pub bad: Option<String>,
    /// Whether what stopped it is a last frame cut short (a torn write: it runs past the end of
    /// the file), as opposed to a frame that is there and wrong.
    pub torn: bool,
}

/// Reads frames from the start of `bytes` until the end or the first frame that is cut short,
/// oversized or fails its checksum.
pub fn scan(bytes: &[u8]) -> Scan<'_> {
    let mut scan = Scan::default();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 4 {
            scan.bad = Some(format!("a frame is cut short at byte {at}"));
            scan.torn = true;
            break;
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_RECORD {
            scan.bad = Some(format!(
                "the frame at byte {at} claims {len} bytes, more than a record may have"
            ));
            break;
        }
        if rest.len() < len + OVERHEAD {
            scan.bad = Some(format!("a frame is cut short at byte {at}"));
            scan.torn = true;
            break;
        }
        let record = &rest[4..4 + len];
        if rest[4 + len..len + OVERHEAD] != checksum(record) {
            scan.bad = Some(format!(
                "the frame at byte {at} fails its checksum (its bytes were changed)"
            ));
            break;
        }
        scan.records.push((at, record));
        at += len + OVERHEAD;
    }
    scan.end = at;
    scan
}
