//! Checking a log: its latest checkpoint's signature, every record's frame, encoding and
//! index, that the checkpoint covers exactly the records there are and that their tree hash is
//! the checkpoint's, and that the log extends a checkpoint trusted earlier. Each failure names
//! the first bad record where one is to blame.

use compose_model::Code;

use crate::checkpoint::{self, SignedCheckpoint};
use crate::error::AuditError;
use crate::frame;
use crate::record::Record;
use crate::tree::Tree;

/// A log that verified.
#[derive(Debug)]
#[non_exhaustive]
pub struct Verified {
    /// Its records.
    pub records: Vec<Record>,
    /// Its tree.
    pub tree: Tree,
    /// Its latest checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// The trusted checkpoint it extends, if one was given.
    pub extends: Option<SignedCheckpoint>,
}

/// Reads every record of `log` (the file's bytes) without checking anything but frames,
/// encoding and indexes: the first failure names its record.
pub fn read(log: &[u8]) -> Result<(Vec<Record>, Tree), AuditError> {
    let (records, tree, bad) = read_until_bad(log);
    match bad {
        Some(e) => Err(e),
        None => Ok((records, tree)),
    }
}

/// The records of `log` up to the first bad one, and what is wrong with it if one is bad (for
/// showing what a damaged log still holds).
pub fn read_lenient(log: &[u8]) -> (Vec<Record>, Option<AuditError>) {
    let (records, _, bad) = read_until_bad(log);
    (records, bad)
}

fn read_until_bad(log: &[u8]) -> (Vec<Record>, Tree, Option<AuditError>) {
    let scan = frame::scan(log);
    let mut records = Vec::new();
    let mut tree = Tree::default();
    for (i, (_, bytes)) in scan.records.iter().enumerate() {
        let i = i as u64;
        let r = match Record::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                return (
                    records,
                    tree,
                    Some(AuditError::at(i, format!("not a record: {e}"))),
                );
            }
        };
        if r.index != i {
            let e = AuditError::at(
                i,
                format!(
                    "it says it is record {}: a record was dropped, moved or inserted here",
                    r.index
                ),
            );
            return (records, tree, Some(e));
        }
        tree.push(bytes);
        records.push(r);
    }
    let bad = scan.bad.map(|b| AuditError::at(records.len() as u64, b));
    (records, tree, bad)
}

/// Checks that the tree of the `latest` checkpoint (whose records `tree` holds) extends the
/// `trusted` one: same origin, at least as many records, and a consistency proof between the
/// two checks, as a verifier holding only the two checkpoints would check it.
pub fn extends(
    latest: &SignedCheckpoint,
    tree: &Tree,
    trusted: &SignedCheckpoint,
) -> Result<(), AuditError> {
    let (t, size) = (trusted, latest.size);
    if t.origin != latest.origin {
        return Err(AuditError::new(
            Code::AuditNotExtended,
            format!(
                "the trusted checkpoint is for the log `{}`, this one is `{}`",
                t.origin, latest.origin
            ),
        ));
    }
    if t.size > size {
        return Err(AuditError {
            index: Some(size),
            ..AuditError::new(
                Code::AuditNotExtended,
                format!(
                    "record {size}: missing: the trusted checkpoint covers {} records and the log now has {size}; the log was cut together with its checkpoint",
                    t.size
                ),
            )
        });
    }
    if t.size > 0
        && tlog_tiles::check_tree(
            &tree.prove_tree(size, t.size),
            size,
            latest.hash,
            t.size,
            t.hash,
        )
        .is_err()
    {
        return Err(AuditError::new(
            Code::AuditNotExtended,
            format!(
                "the log does not extend the trusted checkpoint: its first {} records were rewritten",
                t.size
            ),
        ));
    }
    Ok(())
}

/// Checks `log` against the signed `checkpoint` (verified with `keys`) and, if given, a
/// `trusted` checkpoint kept from earlier.
pub fn verify(
    log: &[u8],
    checkpoint: &[u8],
    keys: &[String],
    trusted: Option<&[u8]>,
) -> Result<Verified, AuditError> {
    let latest = checkpoint::verify(checkpoint, keys, "the checkpoint")?;
    let trusted = trusted
        .map(|t| checkpoint::verify(t, keys, "the trusted checkpoint"))
        .transpose()?;
    let (records, tree) = read(log)?;
    let n = tree.size();
    let size = latest.size;
    if n < size {
        return Err(AuditError::at(
            n,
            format!(
                "missing: the checkpoint covers {size} records and the log has {n} (it was cut, or records were dropped)"
            ),
        ));
    }
    if n > size {
        return Err(AuditError::at(
            size,
            format!(
                "not covered by the checkpoint, which covers {size} records: {} were appended after it",
                n - size
            ),
        ));
    }
    if tree.hash(size) != latest.hash {
        return Err(AuditError::new(
            Code::AuditTampered,
            format!(
                "the {size} records do not hash to the checkpoint's tree: a record was rewritten (with a valid checksum), or the checkpoint is for another log"
            ),
        ));
    }
    if let Some(t) = &trusted {
        extends(&latest, &tree, t)?;
    }
    Ok(Verified {
        records,
        tree,
        checkpoint: latest,
        extends: trusted,
    })
}
