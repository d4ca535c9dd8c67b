//! The host side of `std:audit/log`: a guest granted `audit` appends records of its own to the
//! plan's audit log. They are marked `guest` (the host sets `source`, time, run, plan and
//! component), so they can never pass for the host's records, and they are limited: an entry of
//! at most [`MAX_ENTRY_BYTES`] with at most [`MAX_ATTRIBUTES`] attributes, at most
//! [`MAX_RECORDS`] per instance. Over a limit an entry is `rejected` and counted; the count is
//! in the host's `run.stop` (or `serve.stop`) record.
//!
//! Components composed into one share its imports, so every component of the composition that
//! imports `std:audit` may append, and its records are the composition's.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use wasmtime::component::HasData;

use super::bindings::audit::std::audit::log::{self, AuditError, Entry, Outcome};
use crate::audit::Audit;

/// The largest entry: its action, subject, attribute names and values together, in bytes.
pub const MAX_ENTRY_BYTES: usize = 4096;
/// The most attributes an entry may have.
pub const MAX_ATTRIBUTES: usize = 32;
/// The most records one instance (a run, or one request of a server) may append.
pub const MAX_RECORDS: u32 = 1000;
/// The longest action or attribute name.
const MAX_NAME: usize = 128;

/// One store's `std:audit` state: the session's audit, whether the run is allowed `audit`, and
/// how many records this instance appended.
pub(crate) struct AuditCtx {
    audit: Audit,
    allowed: bool,
    appended: u32,
}

impl AuditCtx {
    pub(crate) fn new(audit: Audit, allowed: bool) -> AuditCtx {
        AuditCtx {
            audit,
            allowed,
            appended: 0,
        }
    }
}

pub(crate) struct HasAudit;

impl HasData for HasAudit {
    type Data<'a> = &'a mut AuditCtx;
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Denied => "denied",
    }
}

/// Why `entry` is refused, if it is.
fn refusal(entry: &Entry) -> Option<String> {
    let size = entry.action.len()
        + entry.subject.len()
        + entry
            .attributes
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    if entry.action.is_empty() || entry.action.len() > MAX_NAME {
        return Some(format!(
            "the action must have 1 to {MAX_NAME} bytes, not {}",
            entry.action.len()
        ));
    }
    if size > MAX_ENTRY_BYTES {
        return Some(format!(
            "the entry has {size} bytes, more than the {MAX_ENTRY_BYTES} a record may have"
        ));
    }
    if entry.attributes.len() > MAX_ATTRIBUTES {
        return Some(format!(
            "the entry has {} attributes, more than {MAX_ATTRIBUTES}",
            entry.attributes.len()
        ));
    }
    let mut names = BTreeSet::new();
    for (k, _) in &entry.attributes {
        if k.is_empty() || k.len() > MAX_NAME {
            return Some(format!("an attribute name must have 1 to {MAX_NAME} bytes"));
        }
        if !names.insert(k.as_str()) {
            return Some(format!("the attribute `{k}` is given twice"));
        }
    }
    None
}

impl log::Host for &mut AuditCtx {
    fn append(&mut self, entry: Entry) -> wasmtime::Result<Result<u64, AuditError>> {
        let Some(recording) = self
            .audit
            .recording()
            .filter(|_| self.allowed)
            .map(Arc::clone)
        else {
            return Ok(Err(AuditError::Unavailable(
                "this composition is not allowed `audit`: no component requests it, the plan does not grant it or names no log, or the host refuses it".into(),
            )));
        };
        let why = if self.appended >= MAX_RECORDS {
            Some(format!(
                "an instance may append at most {MAX_RECORDS} records"
            ))
        } else {
            refusal(&entry)
        };
        if let Some(why) = why {
            recording.guest_refused.fetch_add(1, Ordering::Relaxed);
            return Ok(Err(AuditError::Rejected(why)));
        }
        let attributes: Vec<(String, &str)> = entry
            .attributes
            .iter()
            .map(|(k, v)| (format!("attr.{k}"), v.as_str()))
            .collect();
        let mut fields: Vec<(&str, &str)> = vec![
            ("subject", entry.subject.as_str()),
            ("outcome", outcome(entry.outcome)),
        ];
        fields.extend(attributes.iter().map(|(k, v)| (k.as_str(), *v)));
        match recording.guest(&entry.action, &fields) {
            Ok(u64::MAX) => Ok(Err(AuditError::Unavailable(
                "the audit log failed; the record was not kept".into(),
            ))),
            Ok(index) => {
                self.appended += 1;
                Ok(Ok(index))
            }
            // The plan requires the log, and it failed: the run stops.
            Err(e) => Err(wasmtime::Error::new(e)),
        }
    }
}
