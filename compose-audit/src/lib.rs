//! A tamper-evident audit log: records of what a host did (and what its guests asked to record)
//! in a file that only grows, a Merkle tree over them (RFC 6962 hashing) and signed checkpoints
//! of that tree in the C2SP formats (tlog-checkpoint in a signed note, Ed25519), so that any
//! change, cut, reordering or addition after a checkpoint is found, naming the first bad record.
//!
//! - [`record`]: one record, canonical CBOR of fixed fields, marked `host` or `guest`.
//! - [`frame`]: how records sit in the file (length, bytes, checksum) and how a file is read back.
//! - [`tree`]: the Merkle tree (`tlog_tiles`) and its inclusion and consistency proofs.
//! - [`checkpoint`]: keys and signed checkpoints (`signed_note`, `tlog_tiles::Checkpoint`).
//! - [`writer`]: appending, in batches, with a lock, fsync and a checkpoint per batch, and
//!   recovery of a torn tail on reopen.
//! - [`verify`]: checking a log against its latest checkpoint and one trusted earlier.
#![deny(missing_docs)]

pub mod checkpoint;
mod error;
pub mod frame;
pub mod record;
pub mod tree;
pub mod verify;
pub mod writer;

pub use checkpoint::{Key, SignedCheckpoint};
pub use error::AuditError;
pub use record::{Record, Source};
pub use writer::{LogWriter, Options};

/// The file next to a log `PATH` holding its latest checkpoint: `PATH.checkpoint`.
pub fn checkpoint_path(log: &std::path::Path) -> std::path::PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".checkpoint");
    p.into()
}

/// A new run id: 16 random bytes in hex, from the operating system's generator.
pub fn new_run_id() -> Result<String, AuditError> {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        AuditError::new(
            compose_model::Code::AuditSink,
            format!("cannot draw a run id from the operating system: {e}"),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
