//! The open audit log ([`AuditLog`]: one writer per file, flushed by a thread of its own when a
//! batch of 1024 records is full and every second, and at the end of every run and when a server
//! stops) and one session's records in it ([`Recording`]).
//!
//! Durability: an append returns before its record is on disk, and never waits for the disk.
//! A batch is written, synced (`fdatasync`) and covered by a signed checkpoint together; a
//! crash loses at most the records not yet flushed, never a checkpointed one
//! (`compose_audit::writer`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use compose_audit::{AuditError, Key, LogWriter, Options, Record, Source};
use compose_model::Code;
use compose_model::plan::Plan;

use crate::{ExecError, HostPolicy};

/// How often the flushing thread writes, syncs and checkpoints what was appended.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// An audit log open for appending: one per file in a process (a second writer, here or in
/// another process, is refused with `E0802`). Cheap to clone; the last clone dropped flushes
/// the log and writes its final checkpoint.
#[derive(Clone)]
pub struct AuditLog {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    /// The run id of records that belong to no run ([`AuditLog::host_event`]).
    run: String,
    writer: LogWriter,
    /// Appends and flushes that failed, for a log the plan does not require.
    failures: AtomicU64,
    /// Whether the latest flush failed (cleared by one that succeeds).
    failing: AtomicBool,
    /// Wakes the flushing thread.
    signal: Arc<Signal>,
    /// The flushing thread, joined by [`AuditLog::close`].
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// What reopening found (records adopted after the last checkpoint, bytes of a torn
    /// frame cut), recorded by the first session (`log.reopened`).
    reopened: Mutex<Option<(u64, u64)>>,
}

/// What the flushing thread waits on: a full batch, or the log being dropped.
#[derive(Default)]
struct Signal {
    /// (a batch is full, the log was dropped)
    state: Mutex<(bool, bool)>,
    wake: Condvar,
}

impl Signal {
    fn set(&self, full: bool, closed: bool) {
        let mut s = lock(&self.state);
        s.0 |= full;
        s.1 |= closed;
        self.wake.notify_one();
    }
}

impl Shared {
    fn flush(&self) -> Result<(), AuditError> {
        let flushed = self.writer.flush().map(drop);
        self.failing.store(flushed.is_err(), Ordering::Relaxed);
        flushed
    }

    /// The error of a flush that failed and has not been followed by one that succeeded.
    fn failing(&self) -> Result<(), ExecError> {
        if self.failing.load(Ordering::Relaxed) {
            return Err(ExecError::new(
                Code::AuditSink,
                format!(
                    "the audit log `{}` could not be written (the last flush failed; see the messages above)",
                    self.path.display()
                ),
            ));
        }
        Ok(())
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The writer flushes itself when dropped (just after this); the thread may end.
        self.signal.set(false, true);
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.shared.path)
            .finish()
    }
}

fn exec(e: AuditError) -> ExecError {
    ExecError::new(e.code, e.message)
}

impl AuditLog {
    /// Opens (or creates) the log at `path`, recovering a torn tail, with checkpoints signed by
    /// `key` (and exported to `options.checkpoint_out`, if set).
    pub fn open(path: &Path, key: Key, options: Options) -> Result<AuditLog, ExecError> {
        let (writer, opened) = LogWriter::open(path, key, options).map_err(exec)?;
        let path = std::fs::canonicalize(path).map_err(|e| {
            ExecError::new(
                Code::AuditSink,
                format!("cannot resolve `{}`: {e}", path.display()),
            )
        })?;
        let shared = Arc::new(Shared {
            path,
            run: compose_audit::new_run_id().map_err(exec)?,
            writer,
            failures: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            signal: Arc::default(),
            thread: Mutex::new(None),
            reopened: Mutex::new(
                (opened.adopted > 0 || opened.cut > 0).then_some((opened.adopted, opened.cut)),
            ),
        });
        let weak = Arc::downgrade(&shared);
        let signal = shared.signal.clone();
        let thread = std::thread::Builder::new()
            .name("audit-flush".into())
            .spawn(move || flush_periodically(weak, &signal))
            .map_err(|e| ExecError::new(Code::AuditSink, format!("cannot start: {e}")))?;
        *lock(&shared.thread) = Some(thread);
        Ok(AuditLog { shared })
    }

    /// The file `plan` names for its log (`observability.audit = "file:PATH"`), relative to
    /// `plan_folder` when it is relative (the folder the plan file is in), or `None`.
    pub fn plan_path(plan: &Plan, plan_folder: Option<&Path>) -> Option<PathBuf> {
        let path = Path::new(plan.observability.audit.as_deref()?.strip_prefix("file:")?);
        Some(match plan_folder {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_owned(),
        })
    }

    /// The log's file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Appends `record` (its index is set here, and returned). It is written later, by the
    /// flushing thread or [`AuditLog::flush`].
    pub fn append(&self, record: Record) -> Result<u64, AuditError> {
        let (index, full) = self.shared.writer.append_deferred(record)?;
        if full {
            self.shared.signal.set(true, false);
        }
        Ok(index)
    }

    /// Appends a host record about `plan` (and the component by its digest) that belongs to no
    /// run, such as the host's own signature check before one starts: its run id is the
    /// log's, drawn when it was opened. Flushed at once.
    pub fn host_event(
        &self,
        plan: &Plan,
        component: Option<&str>,
        kind: &str,
        fields: &[(&str, &str)],
    ) -> Result<u64, ExecError> {
        let record = new_record(
            &self.shared.run,
            &plan.digest().to_string(),
            component.map(str::to_owned),
            Source::Host,
            kind,
            fields,
        );
        let index = self.append(record).map_err(exec)?;
        self.flush()?;
        Ok(index)
    }

    /// Writes, syncs and checkpoints what was appended.
    pub fn flush(&self) -> Result<(), ExecError> {
        self.shared.flush().map_err(exec)
    }

    /// Flushes what was appended, writes the final checkpoint and stops the flushing thread
    /// (waiting for it): call it before the process exits, so that no record depends on a
    /// thread that exiting would cut short. Appends after it are written only by a later
    /// [`AuditLog::flush`] or when the last clone is dropped.
    pub fn close(&self) -> Result<(), ExecError> {
        self.shared.signal.set(false, true);
        if let Some(thread) = lock(&self.shared.thread).take() {
            let _ = thread.join();
        }
        self.flush()
    }

    /// Whether `plan` names this log (resolved against `plan_folder`).
    pub fn is_for(&self, plan: &Plan, plan_folder: Option<&Path>) -> bool {
        Self::plan_path(plan, plan_folder)
            .and_then(|p| std::fs::canonicalize(p).ok())
            .is_some_and(|p| p == self.shared.path)
    }

    /// Appends and flushes that failed so far.
    pub fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The flushing thread: writes what was appended when a batch is full, and every second. It
/// holds the log only while it flushes (so dropping the last [`AuditLog`] drops, and so
/// flushes, the writer at once), and ends when the log is dropped.
fn flush_periodically(log: Weak<Shared>, signal: &Signal) {
    loop {
        {
            let state = lock(&signal.state);
            let (mut state, _) = signal
                .wake
                .wait_timeout_while(state, FLUSH_EVERY, |(full, closed)| !*full && !*closed)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if state.1 {
                return;
            }
            state.0 = false;
        }
        let Some(shared) = log.upgrade() else { return };
        if let Err(e) = shared.flush() {
            shared.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("audit: {e}");
        }
    }
}

/// One session's records: its run id, plan and component, and whether a failure stops it.
pub(crate) struct Recording {
    log: AuditLog,
    run: String,
    plan: String,
    component: Option<String>,
    mode: String,
    required: bool,
    failed: AtomicBool,
    /// Guest records refused (over a limit), reported when the run or server stops.
    pub(crate) guest_refused: AtomicU64,
    /// Host records an instance caused past its limit, reported likewise.
    pub(crate) dropped: AtomicU64,
}

impl Recording {
    /// Records of `plan` in the host's log, which must be the file the plan names.
    pub(crate) fn new(
        plan: &Plan,
        host: &HostPolicy,
        path: &str,
        component: Option<String>,
        mode: &str,
    ) -> Result<Recording, ExecError> {
        let wanted = AuditLog::plan_path(plan, host.plan_folder.as_deref())
            .unwrap_or_else(|| PathBuf::from(path));
        let Some(log) = host.audit.clone() else {
            return Err(ExecError::new(
                Code::AuditSink,
                format!(
                    "the plan writes an audit log to `{}`, and the host was given no log to write (composectl: `--audit-key KEY`; a host: `HostPolicy::audit_log`), so nothing would be recorded",
                    wanted.display()
                ),
            ));
        };
        if std::fs::canonicalize(&wanted).ok().as_deref() != Some(log.path()) {
            return Err(ExecError::new(
                Code::AuditSink,
                format!(
                    "the plan writes its audit log to `{}`, but the host opened `{}`",
                    wanted.display(),
                    log.path().display()
                ),
            ));
        }
        let reopened = lock(&log.shared.reopened).take();
        let recording = Recording {
            log,
            run: compose_audit::new_run_id().map_err(exec)?,
            plan: plan.digest().to_string(),
            component,
            mode: mode.to_owned(),
            required: plan.observability.audit_required,
            failed: AtomicBool::new(false),
            guest_refused: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        };
        if let Some((adopted, cut)) = reopened {
            let (adopted, cut) = (adopted.to_string(), cut.to_string());
            recording.host(
                "log.reopened",
                &[("adopted-records", &adopted), ("cut-bytes", &cut)],
            )?;
        }
        Ok(recording)
    }

    fn record(&self, source: Source, kind: &str, fields: &[(&str, &str)]) -> Record {
        new_record(
            &self.run,
            &self.plan,
            self.component.clone(),
            source,
            kind,
            fields,
        )
    }

    /// Appends a host record (the session's mode is added as `mode`).
    pub(crate) fn host(&self, kind: &str, fields: &[(&str, &str)]) -> Result<(), ExecError> {
        let mut all = fields.to_vec();
        all.push(("mode", &self.mode));
        let appended = self.log.append(self.record(Source::Host, kind, &all));
        let appended = appended.map(drop).map_err(exec);
        // A flush that failed on the flushing thread stops a run that requires the log at its
        // next record; otherwise that thread told it already.
        if self.required {
            return self.outcome(appended.and_then(|()| self.log.shared.failing()));
        }
        self.outcome(appended)
    }

    /// Appends a guest's record; its index in the log, or why it could not be.
    pub(crate) fn guest(&self, kind: &str, fields: &[(&str, &str)]) -> Result<u64, ExecError> {
        let appended = self.log.append(self.record(Source::Guest, kind, fields));
        match appended.map_err(exec) {
            Ok(i) if self.required => self.log.shared.failing().map(|()| i).map_err(|e| {
                self.outcome(Err(e))
                    .expect_err("a required log's failure is an error")
            }),
            Ok(i) => Ok(i),
            Err(e) => self.outcome(Err(e)).map(|()| u64::MAX),
        }
    }

    /// Flushes the log (at a run's end, a server's stop).
    pub(crate) fn flush(&self) -> Result<(), ExecError> {
        let flushed = self.log.flush();
        self.outcome(flushed)
    }

    /// A failure of the log: counted; fatal (and remembered) when the plan requires the log.
    fn outcome(&self, r: Result<(), ExecError>) -> Result<(), ExecError> {
        let Err(e) = r else { return Ok(()) };
        self.log.shared.failures.fetch_add(1, Ordering::Relaxed);
        if self.required {
            self.failed.store(true, Ordering::Relaxed);
            return Err(required_failed(&e));
        }
        eprintln!(
            "audit: {e} (`observability.audit-required` is off: the run goes on; {} failure(s) so far)",
            self.log.failures()
        );
        Ok(())
    }

    /// `E0801` if the plan requires the log and it failed, or its last flush failed.
    pub(crate) fn check(&self) -> Result<(), ExecError> {
        if self.required
            && let Err(e) = self.log.shared.failing()
        {
            self.failed.store(true, Ordering::Relaxed);
            return Err(required_failed(&e));
        }
        if self.failed.load(Ordering::Relaxed) {
            return Err(ExecError::new(
                Code::AuditSink,
                format!(
                    "the audit log `{}` failed during the run, and the plan requires it (`observability.audit-required = true`), so the run was stopped",
                    self.log.path().display()
                ),
            ));
        }
        Ok(())
    }
}

/// A record of now (its index is set when appended).
fn new_record(
    run: &str,
    plan: &str,
    component: Option<String>,
    source: Source,
    kind: &str,
    fields: &[(&str, &str)],
) -> Record {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Record {
        index: 0,
        time,
        run: run.to_owned(),
        plan: plan.to_owned(),
        component,
        source,
        kind: kind.to_owned(),
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn required_failed(e: &ExecError) -> ExecError {
    ExecError::new(
        Code::AuditSink,
        format!(
            "{} (the plan requires its audit log, `observability.audit-required = true`, so the run stops)",
            e.message
        ),
    )
}
