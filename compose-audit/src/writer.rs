//! Appending to a log: one writer at a time (an exclusive lock on the log file), records
//! buffered into batches, and at the end of each batch (and at [`LogWriter::flush`], and when
//! the writer is dropped) the batch written, the file synced (`fdatasync`), and a signed
//! checkpoint of the whole tree written atomically next to it (`PATH.checkpoint`: a temporary
//! file, synced, renamed over the old one, then the folder synced), and exported to the
//! `checkpoint_out` folder if one is set.
//!
//! So an append returns before its record is durable: a crash loses at most the records of
//! the batch not yet flushed, never a checkpointed one. On reopen a torn last frame (a write
//! cut short) is cut off, but only after every checkpointed record: a log whose checkpointed
//! records are damaged is refused, never "repaired".

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use compose_model::Code;
use signed_note::Note;
use tlog_tiles::{Checkpoint, Hash};

use crate::checkpoint::Key;
use crate::error::AuditError;
use crate::frame::{self, MAX_RECORD};
use crate::record::Record;
use crate::tree::Tree;

/// How a writer batches and where it exports checkpoints.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Records per batch (one sync and one checkpoint each). Default 64.
    pub batch: usize,
    /// A folder each checkpoint is also written to as it is made (`SIZE.checkpoint`), kept
    /// apart from the log: cutting the log together with its last checkpoint cannot be seen
    /// from the log alone.
    pub checkpoint_out: Option<PathBuf>,
}

impl Options {
    /// Sets the records per batch.
    pub fn batch(mut self, records: usize) -> Options {
        self.batch = records;
        self
    }

    /// Sets the folder checkpoints are exported to.
    pub fn checkpoint_out(mut self, folder: impl Into<PathBuf>) -> Options {
        self.checkpoint_out = Some(folder.into());
        self
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            batch: 64,
            checkpoint_out: None,
        }
    }
}

/// What opening found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Opened {
    /// Records already in the log.
    pub records: u64,
    /// Bytes of a torn last frame that were cut off.
    pub cut: u64,
}

/// The one writer of a log.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    key: Key,
    options: Options,
    tree: Tree,
    /// Frames appended and not yet written.
    pending: Vec<u8>,
    pending_records: usize,
    /// The size of the latest checkpoint written.
    checkpointed: u64,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.path)
            .field("records", &self.tree.size())
            .finish()
    }
}

impl LogWriter {
    /// Opens (or creates) the log at `path` for appending, checkpoints signed with `key`.
    pub fn open(
        path: &Path,
        key: Key,
        options: Options,
    ) -> Result<(LogWriter, Opened), AuditError> {
        let fresh = !path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| AuditError::io("open the audit log", path, e))?;
        if let Err(e) = file.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => AuditError::new(
                    Code::AuditLocked,
                    format!(
                        "another writer has the audit log `{}` open; give each host a log of its own",
                        path.display()
                    ),
                ),
                std::fs::TryLockError::Error(e) => AuditError::io("lock the audit log", path, e),
            });
        }
        if fresh {
            sync_folder(path)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| AuditError::io("read the audit log", path, e))?;
        let scan = frame::scan(&bytes);
        let mut tree = Tree::default();
        for (i, (_, record)) in scan.records.iter().enumerate() {
            match Record::decode(record) {
                Ok(r) if r.index == i as u64 => tree.push(record),
                Ok(r) => {
                    return Err(AuditError::at(
                        i as u64,
                        format!("it says it is record {}; the log is out of order", r.index),
                    ));
                }
                Err(e) => return Err(AuditError::at(i as u64, format!("not a record: {e}"))),
            }
        }
        let checkpointed = read_own_checkpoint(path)?;
        let (size, hash) = checkpointed.unwrap_or((0, tree.hash(0)));
        if tree.size() < size {
            return Err(AuditError::at(
                tree.size(),
                format!(
                    "the checkpoint covers {size} records, and only {} are intact{}; the log was cut or damaged, and checkpointed records are never cut: run `composectl audit verify`",
                    tree.size(),
                    scan.bad
                        .as_deref()
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default()
                ),
            ));
        }
        if tree.hash(size) != hash {
            return Err(AuditError::new(
                Code::AuditTampered,
                format!(
                    "the first {size} records do not match their checkpoint: the log was rewritten; run `composectl audit verify`"
                ),
            ));
        }
        let mut cut = 0;
        if scan.bad.is_some() {
            cut = (bytes.len() - scan.end) as u64;
            file.set_len(scan.end as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| AuditError::io("cut the torn end of", path, e))?;
        }
        let opened = Opened {
            records: tree.size(),
            cut,
        };
        Ok((
            LogWriter {
                path: path.to_owned(),
                file,
                key,
                options,
                tree,
                pending: Vec::new(),
                pending_records: 0,
                checkpointed: size,
            },
            opened,
        ))
    }

    /// The number of records appended so far (flushed or not).
    pub fn len(&self) -> u64 {
        self.tree.size()
    }

    /// Whether the log has no records.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Appends `record`, setting its index, which it returns. It is durable, and covered by a
    /// checkpoint, once its batch is flushed (which this does when the batch is full).
    pub fn append(&mut self, mut record: Record) -> Result<u64, AuditError> {
        let index = self.tree.size();
        record.index = index;
        let bytes = record.encode();
        if bytes.len() > MAX_RECORD {
            return Err(AuditError::new(
                Code::AuditSink,
                format!(
                    "a record of {} bytes is larger than the {MAX_RECORD} a log holds",
                    bytes.len()
                ),
            ));
        }
        self.pending.extend(frame::frame(&bytes));
        self.pending_records += 1;
        self.tree.push(&bytes);
        if self.pending_records >= self.options.batch.max(1) {
            self.flush()?;
        }
        Ok(index)
    }

    /// Writes and syncs the records appended since the last flush and checkpoints the tree;
    /// returns the checkpoint (nothing is written when nothing changed).
    pub fn flush(&mut self) -> Result<Vec<u8>, AuditError> {
        let size = self.tree.size();
        let checkpoint = self.key.sign(size, self.tree.hash(size));
        if self.pending.is_empty() && self.checkpointed == size && size > 0 {
            return Ok(checkpoint);
        }
        let path = self.path.clone();
        self.file
            .write_all(&self.pending)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| AuditError::io("append to the audit log", &path, e))?;
        self.pending.clear();
        self.pending_records = 0;
        write_atomically(&crate::checkpoint_path(&path), &checkpoint)?;
        if let Some(dir) = &self.options.checkpoint_out {
            std::fs::create_dir_all(dir)
                .map_err(|e| AuditError::io("create the checkpoint folder", dir, e))?;
            write_atomically(&dir.join(format!("{size}.checkpoint")), &checkpoint)?;
        }
        self.checkpointed = size;
        Ok(checkpoint)
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            eprintln!("{e}");
        }
    }
}

/// The size and tree hash of the log's own latest checkpoint, if it has one. Its signature is
/// not checked here (`audit verify` checks it): the writer only needs to know how far its
/// records are covered.
fn read_own_checkpoint(log: &Path) -> Result<Option<(u64, Hash)>, AuditError> {
    let path = crate::checkpoint_path(log);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::io("read the checkpoint", &path, e)),
    };
    let bad = || {
        AuditError::new(
            Code::AuditCheckpoint,
            format!("`{}` is not a signed checkpoint", path.display()),
        )
    };
    let note = Note::from_bytes(&bytes).map_err(|_| bad())?;
    let c = Checkpoint::from_bytes(note.text()).map_err(|_| bad())?;
    Ok(Some((c.size(), *c.hash())))
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, durably: a
/// temporary file beside it, synced, renamed over it, the folder synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| AuditError::io("write the checkpoint", path, e))?;
    sync_folder(path)
}

/// Syncs the folder holding `path`, so that a file created or renamed there survives a crash.
fn sync_folder(path: &Path) -> Result<(), AuditError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io("sync the folder of", path, e))
}
