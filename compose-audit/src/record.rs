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

/// `text` with what could deceive a terminal escaped: control characters (`\n`, `\u{1b}`),
/// invisible formatting and direction marks (`\u{202e}`, `\u{200b}`, …), and `"` and `\`
/// (so that a value cannot fake the end of a `name="value"` pair).
pub fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() || c == '"' || c == '\\' || is_format(c) {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Unicode's format characters (category Cf) that change how text around them is shown:
/// zero-width ones, direction marks and overrides, the soft hyphen, the byte order mark.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{61c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn what_could_deceive_a_terminal_is_escaped() {
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\ny"), "x\\ny");
        assert_eq!(escape("say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(escape("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(escape("plain ünïcode 漢字"), "plain ünïcode 漢字");
    }
}
