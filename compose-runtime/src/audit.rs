//! The host's audit trail: what it did for a composition (runs and servers started and stopped,
//! each capability granted or refused, secret tokens opened and used, outgoing requests denied,
//! traps and limits, signature checks) and what guests granted `audit` asked to record, as
//! records of a tamper-evident log (`compose-audit`: canonical CBOR, a Merkle tree, signed
//! C2SP checkpoints) that the plan names (`observability.audit = "file:PATH"`).
//!
//! [`AuditLog`] is the open log, one writer per file for the whole process, handed to the
//! runtime with [`crate::HostPolicy::audit_log`] (the `audit` feature). [`Audit`] is what a
//! session records through; without the feature, or when the plan names no log, it records
//! nothing, and a plan that names one is refused instead of run unaudited.
//!
//! Records never hold secret values, URL paths or queries, or header values: the host writes
//! token names, authorities (`host:port`) and codes only. A guest's records are marked `guest`
//! and hold what that guest wrote; they are attributed to the whole composition (components
//! composed into one share its imports).

use compose_model::Code;
use compose_model::plan::{Capability, Plan};

use crate::{Effective, ExecError, HostPolicy};

#[cfg(feature = "audit")]
mod log;
#[cfg(feature = "audit")]
pub use log::AuditLog;
#[cfg(feature = "audit")]
use log::Recording;

/// The most host records one instance can cause by what it does (secret tokens opened and used,
/// outgoing requests denied): past it they are counted, not written, so a guest cannot fill
/// the disk with the host's records.
pub(crate) const MAX_CAUSED: u32 = 1000;

/// What a session records through: nothing, or one composition's records in the host's log.
#[derive(Clone, Default)]
pub(crate) struct Audit {
    #[cfg(feature = "audit")]
    recording: Option<std::sync::Arc<Recording>>,
    /// Host records this store's instance caused so far (see [`MAX_CAUSED`]).
    caused: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl Audit {
    /// The session's audit: the host's log when the plan names one. A plan that names a log
    /// the host cannot write (no `audit` feature, no log given, another file) is refused.
    pub(crate) fn for_session(
        plan: &Plan,
        host: &HostPolicy,
        component: Option<String>,
        mode: &str,
    ) -> Result<Audit, ExecError> {
        let Some(sink) = plan.observability.audit.as_deref() else {
            // A log the host opened for a plan that names none would stay empty: refused, as a
            // log other than the plan's is (`Recording::new`), never silently unused.
            #[cfg(feature = "audit")]
            if let Some(log) = &host.audit {
                return Err(ExecError::new(
                    Code::AuditSink,
                    format!(
                        "the host was given the audit log `{}`, but the plan names none (`observability.audit`), so nothing would be recorded in it; name it in the plan, or give the host no log",
                        log.path().display()
                    ),
                ));
            }
            return Ok(Audit::default());
        };
        let Some(path) = sink.strip_prefix("file:") else {
            // `stderr` was refused as not implemented (E0214) with the rest of the plan.
            return Ok(Audit::default());
        };
        #[cfg(feature = "audit")]
        {
            let recording = Recording::new(plan, host, path, component, mode)?;
            Ok(Audit {
                recording: Some(std::sync::Arc::new(recording)),
                caused: Default::default(),
            })
        }
        #[cfg(not(feature = "audit"))]
        {
            let _ = (host, component, mode);
            Err(ExecError::new(
                Code::PlanNotImplemented,
                format!(
                    "the plan writes an audit log (`observability.audit = \"file:{path}\"`), but this build of compose-runtime has no `audit` feature, so nothing would be recorded; turn the feature on, or remove the log"
                ),
            ))
        }
    }

    /// Whether records are kept.
    pub(crate) fn is_on(&self) -> bool {
        #[cfg(feature = "audit")]
        return self.recording.is_some();
        #[cfg(not(feature = "audit"))]
        false
    }

    /// Records a host event `kind` with `fields`. An error only when the plan requires the
    /// log (`observability.audit-required`) and it failed: the run must stop (`E0801`).
    pub(crate) fn host(&self, kind: &str, fields: &[(&str, &str)]) -> Result<(), ExecError> {
        #[cfg(feature = "audit")]
        if let Some(r) = &self.recording {
            return r.host(kind, fields);
        }
        let _ = (kind, fields);
        Ok(())
    }

    /// The audit of one store: the session's, with a count of its own of the host records its
    /// instance causes.
    pub(crate) fn for_store(&self) -> Audit {
        let mut audit = self.clone();
        audit.caused = Default::default();
        audit
    }

    /// Records a host event the instance caused (a secret opened or used, a request denied),
    /// at most [`MAX_CAUSED`] per instance; past that it is counted in the session's stop
    /// record instead. An error only as for [`Audit::host`].
    pub(crate) fn caused(&self, kind: &str, fields: &[(&str, &str)]) -> Result<(), ExecError> {
        use std::sync::atomic::Ordering;
        if self.caused.fetch_add(1, Ordering::Relaxed) >= MAX_CAUSED {
            #[cfg(feature = "audit")]
            if let Some(r) = &self.recording {
                r.dropped.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        self.host(kind, fields)
    }

    /// Writes, syncs and checkpoints what was recorded (at a run's end, a server's stop).
    pub(crate) fn flush(&self) -> Result<(), ExecError> {
        #[cfg(feature = "audit")]
        if let Some(r) = &self.recording {
            return r.flush();
        }
        Ok(())
    }

    /// Records, for each capability a component requests, whether the run got it
    /// (`capability.granted`, with what was granted: names, folders, authorities, token names)
    /// or not (`capability.refused`).
    pub(crate) fn capabilities(&self, plan: &Plan, allowed: &Effective) -> Result<(), ExecError> {
        if !self.is_on() {
            return Ok(());
        }
        for (name, c) in &plan.components {
            for &cap in Capability::ALL {
                if !c.capabilities.requests(cap) {
                    continue;
                }
                let detail = granted(cap, allowed);
                let kind = if detail.is_some() {
                    "capability.granted"
                } else {
                    "capability.refused"
                };
                let mut fields = vec![("component", name.as_str()), ("capability", cap.as_str())];
                if let Some(d) = detail.as_deref().filter(|d| !d.is_empty()) {
                    fields.push(("granted", d));
                }
                self.host(kind, &fields)?;
            }
        }
        Ok(())
    }

    /// Records how a run or server ended (`kind`: `run.stop`, `serve.stop`), with the guest
    /// records refused over their limits, and flushes the log. A required log that failed is
    /// `E0801`, whatever the run's own outcome.
    pub(crate) fn stop(&self, kind: &str, outcome: &str) -> Result<(), ExecError> {
        #[cfg(feature = "audit")]
        if let Some(r) = &self.recording {
            let count = |n: &std::sync::atomic::AtomicU64| {
                n.load(std::sync::atomic::Ordering::Relaxed).to_string()
            };
            let (refused, dropped) = (count(&r.guest_refused), count(&r.dropped));
            r.host(
                kind,
                &[
                    ("outcome", outcome),
                    ("guest-refused", &refused),
                    ("host-records-dropped", &dropped),
                ],
            )?;
            r.flush()?;
            return r.check();
        }
        let _ = (kind, outcome);
        Ok(())
    }

    /// `E0801` if the plan requires the log and it failed during the run.
    pub(crate) fn check(&self) -> Result<(), ExecError> {
        #[cfg(feature = "audit")]
        if let Some(r) = &self.recording {
            return r.check();
        }
        Ok(())
    }

    /// The open log, for `std:audit` (none when records are not kept).
    #[cfg(feature = "audit")]
    pub(crate) fn recording(&self) -> Option<&std::sync::Arc<Recording>> {
        self.recording.as_ref()
    }
}

/// The message of a refusal that names no log: a plan granting `audit` with no log named.
pub(crate) fn no_log(component: &str) -> ExecError {
    ExecError::new(
        Code::ExecCapabilityRefused,
        format!(
            "`{component}` requires `audit`, but the plan names no audit log for its records; add `observability.audit = \"file:PATH\"` or make the request optional"
        ),
    )
}

/// What the run got of `cap`: `None` if nothing, else what (empty for a flag).
fn granted(cap: Capability, a: &Effective) -> Option<String> {
    let flag = |on: bool| on.then(String::new);
    let list = |l: &[String]| (!l.is_empty()).then(|| l.join(","));
    match cap {
        Capability::Stdio => flag(a.stdin || a.stdout || a.stderr),
        Capability::Stdin => flag(a.stdin),
        Capability::Stdout => flag(a.stdout),
        Capability::Stderr => flag(a.stderr),
        Capability::Args => flag(a.args),
        Capability::Clocks => flag(a.clocks),
        Capability::Random => flag(a.random),
        Capability::Attest => flag(a.attest),
        Capability::Audit => flag(a.audit),
        Capability::Env => list(&a.env),
        Capability::Dirs => {
            let dirs: Vec<String> = a.dirs.iter().map(|d| d.guest.clone()).collect();
            list(&dirs)
        }
        Capability::Network => list(&a.network),
        Capability::Http => list(&a.http),
        Capability::Secrets => list(&a.secrets),
        _ => None,
    }
}
