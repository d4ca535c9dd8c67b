//! The plan model (`sys:compose` plan, schema v1): plain data, serialized in one normal form.
//!
//! The serialized form is what TOML authoring reads (with a few shorthands) and what canonical
//! CBOR stores: field names are kebab-case, absent options and empty collections are left out.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::Digest;

pub use super::capabilities::*;

/// The only plan schema version this build reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// A composition plan: which components, how their imports are wired, what they may do.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Plan {
    /// Schema version, always [`SCHEMA_VERSION`].
    pub schema: u64,
    /// A name for the composition, used in messages and artifacts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Cargo workspace `crate` sources are built from: a folder relative to the plan's
    /// own (never absolute, so no machine's path enters the plan's digest). Without it, the
    /// nearest workspace above the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Components by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, Component>,
    /// The composition's own exports: interface name → the component export that provides it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub exports: BTreeMap<String, Wire>,
    /// What the host grants; components request, deny-by-default.
    #[serde(skip_serializing_if = "Grants::is_empty")]
    pub grants: Grants,
    /// Limits and execution policy.
    #[serde(skip_serializing_if = "Policy::is_empty")]
    pub policy: Policy,
    /// Secret tokens: name → where the host finds the value. References only, never values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Metrics, audit and attestation.
    #[serde(skip_serializing_if = "Observability::is_empty")]
    pub observability: Observability,
}

impl Plan {
    /// An empty plan of the current schema.
    pub fn new() -> Plan {
        Plan {
            schema: SCHEMA_VERSION,
            name: None,
            workspace: None,
            components: BTreeMap::new(),
            exports: BTreeMap::new(),
            grants: Grants::default(),
            policy: Policy::default(),
            secrets: BTreeMap::new(),
            observability: Observability::default(),
        }
    }

    /// Whether some component requires a signature (`trust.require-signature`), which emit
    /// then checks.
    pub fn requires_signatures(&self) -> bool {
        self.components
            .values()
            .any(|c| c.trust.as_ref().is_some_and(|t| t.require_signature))
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan::new()
    }
}

/// One component of the composition.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Component {
    /// Where the component comes from.
    #[serde(flatten)]
    pub source: Source,
    /// The expected digest of the component's bytes; a mismatch stops the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Interfaces this component exports that others may be wired to.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub exports: BTreeMap<String, ExportDecl>,
    /// How each of its imports is satisfied: interface name → binding.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub imports: BTreeMap<String, Binding>,
    /// Capabilities the component requests.
    #[serde(skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: Capabilities,
    /// Signature requirements for the component's bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
}

impl Component {
    /// A component from `source` with nothing else declared.
    pub fn new(source: Source) -> Component {
        Component {
            source,
            digest: None,
            exports: BTreeMap::new(),
            imports: BTreeMap::new(),
            capabilities: Capabilities::default(),
            trust: None,
        }
    }
}

/// Where a component's bytes come from. Exactly one per component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Source {
    /// A `.wasm` component file, relative to the plan file.
    Path(String),
    /// A workspace crate built for `wasm32-wasip2`.
    Crate(String),
    /// An OCI artifact, `oci://registry/repository:tag` or `@sha256:…`.
    Oci(String),
    /// A blob in the content-addressed store.
    Blob(Digest),
}

impl Source {
    /// The field name this source is written under.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Path(_) => "path",
            Source::Crate(_) => "crate",
            Source::Oci(_) => "oci",
            Source::Blob(_) => "blob",
        }
    }
}

/// A declared export of a component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportDecl {
    /// The expected canonical WIT identity of the exported interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wit: Option<Digest>,
}

/// How one import of a component is satisfied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// Wired to an export of another component.
    Component(Wire),
    /// Provided by the host through a capability the component requests.
    Host {
        /// The capability.
        capability: Capability,
        /// The expected canonical WIT identity of the interface.
        wit: Option<Digest>,
    },
    /// Explicitly denied: the import is satisfied by a stub that always fails.
    Deny,
}

impl Serialize for Binding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Binding::Component(wire) => wire.serialize(s),
            Binding::Host { capability, wit } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("host", capability.as_str())?;
                if let Some(wit) = wit {
                    m.serialize_entry("wit", wit)?;
                }
                m.end()
            }
            Binding::Deny => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("deny", &true)?;
                m.end()
            }
        }
    }
}

/// A reference to an export of a component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Wire {
    /// The component that exports the interface.
    pub component: String,
    /// The export's name when it differs from the import's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<String>,
    /// The expected canonical WIT identity of the interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wit: Option<Digest>,
}

impl Wire {
    /// A wire to `component`'s export of the same name.
    pub fn to(component: impl Into<String>) -> Wire {
        Wire {
            component: component.into(),
            export: None,
            wit: None,
        }
    }
}

/// Limits and execution policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Policy {
    /// Maximum linear memory per instance, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Fuel (instructions, roughly) for one run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock limit for one run, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Maximum number of instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<u64>,
    /// Maximum elements per table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<u64>,
    /// How many instances a server keeps ready at once: the pooling allocator's size for
    /// `exec serve`, and so the most requests served concurrently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// Whether runs must be deterministic.
    #[serde(skip_serializing_if = "is_default")]
    pub determinism: Determinism,
    /// The tenant the composition runs for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl Policy {
    /// Whether every field has its default.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }
}

/// Whether a run must be deterministic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Determinism {
    /// Clocks and random numbers are real.
    #[default]
    Allowed,
    /// Clocks are fixed and random numbers seeded, so two runs give the same bytes.
    Required,
}

/// Where the host finds a secret's value: `env:NAME`, `file:PATH`, `vault:PATH#KEY` (OpenBao or
/// Vault KV) or `pkcs11:` URI. Never the value itself.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SecretRef(pub(crate) String);

impl SecretRef {
    /// The schemes a reference may use.
    pub const SCHEMES: &'static [&'static str] = &["env", "file", "vault", "pkcs11"];

    /// A reference, if `s` is one: a known scheme, something after it, and for `env:` a
    /// variable name.
    pub fn parse(s: &str) -> Option<SecretRef> {
        let ok = s.split_once(':').is_some_and(|(scheme, rest)| {
            SecretRef::SCHEMES.contains(&scheme)
                && !rest.is_empty()
                && (scheme != "env" || super::names::is_env_name(rest))
        });
        ok.then(|| SecretRef(s.to_owned()))
    }

    /// The reference as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme, e.g. `env`.
    pub fn scheme(&self) -> &str {
        self.0.split_once(':').map_or("", |(s, _)| s)
    }
}

/// Signature requirements for a component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Trust {
    /// Whether the component must carry a valid signature from an accepted signer.
    pub require_signature: bool,
    /// Accepted signers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<Signer>,
    /// How many distinct accepted signers must have signed; `None` means one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
}

/// A signer whose signature is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signer {
    /// A public key: base64 of its DER SubjectPublicKeyInfo, or (a value ending in `.pub` or
    /// `.pem`, which base64 never does) the path of a PEM public key, relative to the plan.
    Key(String),
    /// A sigstore identity and the OIDC issuer that vouches for it.
    Sigstore {
        /// The certificate identity (an email or URI).
        identity: String,
        /// The OIDC issuer URL.
        issuer: String,
    },
    /// A key held in a PKCS#11 token, by label.
    Pkcs11(String),
}

impl Serialize for Signer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Signer::Key(k) => m.serialize_entry("key", k)?,
            Signer::Sigstore { identity, issuer } => {
                m.serialize_entry("sigstore", identity)?;
                m.serialize_entry("issuer", issuer)?;
            }
            Signer::Pkcs11(label) => m.serialize_entry("pkcs11", label)?,
        }
        m.end()
    }
}

/// Metrics, audit and attestation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Observability {
    /// Whether the host collects metrics.
    #[serde(skip_serializing_if = "is_false")]
    pub metrics: bool,
    /// Where audit records go: `file:PATH` (relative to the plan's folder), a tamper-evident
    /// log (`compose-audit`); `stderr` parses but no host writes it yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// Whether a failing audit log stops the run (fail closed); otherwise a failure is told on
    /// stderr and counted, and the run goes on.
    #[serde(rename = "audit-required", skip_serializing_if = "is_false")]
    pub audit_required: bool,
    /// Whether the host attests runs.
    #[serde(skip_serializing_if = "is_false")]
    pub attest: bool,
}

impl Observability {
    /// Whether everything is off.
    pub fn is_empty(&self) -> bool {
        *self == Observability::default()
    }
}

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}
