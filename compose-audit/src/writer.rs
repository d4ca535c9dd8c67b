//! Appending to a log: one writer at a time (an exclusive lock on the log file), records
//! buffered into batches, and at the end of each batch (and at [`LogWriter::flush`], and when
//! the writer is dropped) the batch written, the file synced (`fdatasync`), and a signed
//! checkpoint of the whole tree written atomically next to it (`PATH.checkpoint`: a temporary
//! file, synced, renamed over the old one, then the folder synced), and exported to the
//! `checkpoint_out` folder if one is set.
//!
//! So an append returns before its record is durable: a crash loses at most the records of
//! the batch not yet flushed, never a checkpointed one. On reopen the checkpoint must be signed
//! by this writer's key (or a previous one given), a torn last frame (a write cut short, running
//! past the end of the file) is cut off, and records written after the checkpoint are adopted
//! (and counted, [`Opened::adopted`]). Anything else is refused, never "repaired": a frame that
//! is there and wrong, checkpointed records missing or changed, records without a checkpoint.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

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
    /// Records per batch (one sync and one checkpoint each). Default 1024: a server that
    /// records every request then syncs and signs a few times a second under load, not
    /// dozens (with 64, serving was 20% slower).
    pub batch: usize,
    /// A folder each checkpoint is also written to as it is made (`SIZE.checkpoint`), kept
    /// apart from the log: cutting the log together with its last checkpoint cannot be seen
    /// from the log alone.
    pub checkpoint_out: Option<PathBuf>,
    /// Verifier keys (`NAME+ID+…`) of earlier keys whose checkpoint a reopened log may end
    /// with: after a key is rotated, the previous one's.
    pub previous_keys: Vec<String>,
}

impl Options {
    /// Accepts, when the log is reopened, a checkpoint signed by the key whose verifier key
    /// is `key` (the key used before a rotation).
    pub fn previous_key(mut self, key: impl Into<String>) -> Options {
        self.previous_keys.push(key.into());
        self
    }

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
            batch: 1024,
            checkpoint_out: None,
            previous_keys: Vec::new(),
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
    /// Records after the latest checkpoint (written, but not checkpointed before the writer
    /// stopped), taken into the log: the next checkpoint covers them. A host records that it
    /// did, so a reader sees which records no earlier checkpoint vouched for.
    pub adopted: u64,
}

/// The most bytes of records waiting to be written: past it, appends are refused (the disk
/// has been failing for long).
pub const MAX_PENDING: usize = 64 * 1024 * 1024;

/// The one writer of a log, shared between threads: appending takes a short lock on the
/// records in memory (encoding, hashing into the tree, framing); flushing takes a second lock,
/// on the file, for the slow part (write, `fdatasync`, signing, the checkpoint), so appends go
/// on while a batch is written. Flushes are serialized, and each writes every frame appended
/// before it, in order.
pub struct LogWriter {
    memory: Mutex<Memory>,
    disk: Mutex<Disk>,
    batch: usize,
    /// Set when the file is in a state no flush can mend: appends are refused too.
    broken: AtomicBool,
}

/// What was appended: the tree and the frames not yet written.
struct Memory {
    tree: Tree,
    pending: Vec<u8>,
    pending_records: usize,
}

/// The file and what is on it.
struct Disk {
    path: PathBuf,
    file: File,
    key: Key,
    checkpoint_out: Option<PathBuf>,
    /// The file's length up to the last frame written whole.
    written: u64,
    /// The size of the latest checkpoint written.
    checkpointed: u64,
    /// Why the file is in a state no flush can mend, once it is.
    broken: Option<AuditError>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("records", &self.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        if let Some(bad) = &scan.bad
            && !scan.torn
        {
            return Err(AuditError::at(
                scan.records.len() as u64,
                format!(
                    "{bad}, and a torn write is only ever the last frame cut short: the log was altered; it is not repaired (run `composectl audit verify`)"
                ),
            ));
        }
        let checkpoint = read_own_checkpoint(path, &key, &options.previous_keys)?;
        let (size, hash) = match checkpoint {
            Some(c) => c,
            None if tree.size() == 0 => (0, tree.hash(0)),
            None => {
                return Err(AuditError::new(
                    Code::AuditCheckpoint,
                    format!(
                        "`{}` has {} records and no checkpoint (`{}`), so nothing says they are the ones this host wrote; they are not signed now. If the host stopped before its first checkpoint, check them (`composectl audit show`) and move the log aside",
                        path.display(),
                        tree.size(),
                        crate::checkpoint_path(path).display()
                    ),
                ));
            }
        };
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
        if scan.torn {
            cut = (bytes.len() - scan.end) as u64;
            file.set_len(scan.end as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| AuditError::io("cut the torn end of", path, e))?;
        }
        let opened = Opened {
            records: tree.size(),
            cut,
            adopted: tree.size() - size,
        };
        let writer = LogWriter {
            memory: Mutex::new(Memory {
                tree,
                pending: Vec::new(),
                pending_records: 0,
            }),
            disk: Mutex::new(Disk {
                path: path.to_owned(),
                file,
                key,
                checkpoint_out: options.checkpoint_out,
                written: scan.end as u64,
                checkpointed: size,
                broken: None,
            }),
            batch: options.batch.max(1),
            broken: AtomicBool::new(false),
        };
        Ok((writer, opened))
    }

    /// The number of records appended so far (flushed or not).
    pub fn len(&self) -> u64 {
        lock(&self.memory).tree.size()
    }

    /// Whether the log has no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `record`, setting its index, which it returns. It is durable, and covered by a
    /// checkpoint, once its batch is flushed, which this does when the batch is full.
    pub fn append(&self, record: Record) -> Result<u64, AuditError> {
        let (index, full) = self.append_deferred(record)?;
        if full {
            self.flush()?;
        }
        Ok(index)
    }

    /// Appends `record` without ever flushing: its index, and whether a batch is full (for a
    /// caller that flushes on a thread of its own).
    pub fn append_deferred(&self, mut record: Record) -> Result<(u64, bool), AuditError> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(AuditError::new(
                Code::AuditSink,
                "the audit log takes no more records: a write failed and could not be undone; reopen it",
            ));
        }
        let mut m = lock(&self.memory);
        if m.pending.len() > MAX_PENDING {
            return Err(AuditError::new(
                Code::AuditSink,
                format!(
                    "more than {} MiB of records are waiting to be written: the audit log has been failing; see the errors before this one",
                    MAX_PENDING >> 20
                ),
            ));
        }
        let index = m.tree.size();
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
        m.pending.extend(frame::frame(&bytes));
        m.pending_records += 1;
        m.tree.push(&bytes);
        Ok((index, m.pending_records >= self.batch))
    }

    /// Writes and syncs the records appended before this call and checkpoints them; returns
    /// the checkpoint. Nothing is written when nothing changed.
    pub fn flush(&self) -> Result<Vec<u8>, AuditError> {
        let mut disk = lock(&self.disk);
        if let Some(e) = &disk.broken {
            return Err(e.clone());
        }
        let (batch, size, hash) = {
            let mut m = lock(&self.memory);
            m.pending_records = 0;
            let size = m.tree.size();
            (std::mem::take(&mut m.pending), size, m.tree.hash(size))
        };
        let checkpoint = disk.key.sign(size, hash);
        if batch.is_empty() && disk.checkpointed == size {
            return Ok(checkpoint);
        }
        if let Err(e) = disk.write(&batch) {
            if disk.broken.is_some() {
                self.broken.store(true, Ordering::Relaxed);
            }
            // Nothing of the batch is on the file: keep it, ahead of what came since.
            let mut m = lock(&self.memory);
            let later = std::mem::replace(&mut m.pending, batch);
            m.pending.extend(later);
            return Err(e);
        }
        let path = disk.path.clone();
        write_atomically(&crate::checkpoint_path(&path), &checkpoint)?;
        if let Some(dir) = &disk.checkpoint_out {
            std::fs::create_dir_all(dir)
                .map_err(|e| AuditError::io("create the checkpoint folder", dir, e))?;
            write_atomically(&dir.join(format!("{size}.checkpoint")), &checkpoint)?;
        }
        disk.checkpointed = size;
        Ok(checkpoint)
    }
}

impl Disk {
    /// Appends `batch` and syncs it. On failure the file is cut back to its last whole frame,
    /// so that a retry does not write a frame twice; if even that fails the writer is broken.
    fn write(&mut self, batch: &[u8]) -> Result<(), AuditError> {
        let written = self
            .file
            .write_all(batch)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.written += batch.len() as u64;
                Ok(())
            }
            Err(e) => {
                let e = AuditError::io("append to the audit log", &self.path, e);
                if let Err(cut) = self.file.set_len(self.written) {
                    let broken = AuditError::new(
                        Code::AuditSink,
                        format!(
                            "{}; and cutting the partial write back failed ({cut}), so the log takes no more records: reopen it",
                            e.message
                        ),
                    );
                    self.broken = Some(broken.clone());
                    return Err(broken);
                }
                Err(e)
            }
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            eprintln!("{e}");
        }
    }
}

/// The size and tree hash of the log's own latest checkpoint, if it has one, after checking
/// that `key` signed it (Ed25519 signatures are deterministic: signing its tree again gives the
/// same bytes) or a key of `previous` did. A forged checkpoint would have the writer sign
/// records it never wrote.
fn read_own_checkpoint(
    log: &Path,
    key: &Key,
    previous: &[String],
) -> Result<Option<(u64, Hash)>, AuditError> {
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
    let (size, hash) = (c.size(), *c.hash());
    if key.sign(size, hash) == bytes {
        return Ok(Some((size, hash)));
    }
    if !previous.is_empty()
        && crate::checkpoint::verify(&bytes, previous, "the log's checkpoint").is_ok()
    {
        return Ok(Some((size, hash)));
    }
    Err(AuditError::new(
        Code::AuditCheckpoint,
        format!(
            "`{}` is not signed by this host's key{}: it was replaced, or the key changed; after a rotation give the previous verifier key (`--audit-previous-key PUB`)",
            path.display(),
            if previous.is_empty() {
                ""
            } else {
                " nor a previous one"
            }
        ),
    ))
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
