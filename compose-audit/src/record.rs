//! One audit record: canonical CBOR of fixed fields. The host sets `index`, `time`, `run`, the
//! digests and `source`; a guest chooses only `kind` and `fields` of its own records, which are
//! marked `guest` and so can never pass for the host's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who wrote a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The host: runs, grants and refusals, secrets, signatures, traps.
    Host,
    /// A guest, through `std:audit` (attributed to the whole composition: components composed
    /// into one share its imports).
    Guest,
}

impl Source {
    /// Its name in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Host => "host",
            Source::Guest => "guest",
        }
    }
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Its position in the log, from 0 (set when appended).
    pub index: u64,
    /// The host's time, milliseconds since the Unix epoch.
    pub time: u64,
    /// The run (or server) it belongs to.
    pub run: String,
    /// The plan's digest, `sha256:…`.
    pub plan: String,
    /// The composed component's digest, `sha256:…`; absent where the host was given its
    /// compiled code only, or for records of no one component (a key rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Who wrote it.
    pub source: Source,
    /// What happened, e.g. `run.start`, `capability.refused`, or a guest's own action.
    pub kind: String,
    /// Further fields, by name. Never secret values, URL paths or queries, or header values.
    pub fields: BTreeMap<String, String>,
}

impl Record {
    /// Its canonical CBOR.
    pub fn encode(&self) -> Vec<u8> {
        compose_model::cbor::to_canonical_vec(self).expect("a record encodes")
    }

    /// A record from canonical CBOR (anything else is refused).
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        compose_model::cbor::from_canonical_slice(bytes).map_err(|e| e.to_string())
    }
}

/// `text` with control characters escaped (`\n`, `\u{1b}`), for showing records on a terminal.
pub fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
