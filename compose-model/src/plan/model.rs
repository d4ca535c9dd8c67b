//! The plan model (`sys:compose` plan, schema v1): plain data, serialized in one normal form.
//!
//! The serialized form is what TOML authoring reads (with a few shorthands) and what canonical
//! CBOR stores: field names are kebab-case, absent options and empty collections are left out.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::Digest;

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
            components: BTreeMap::new(),
            exports: BTreeMap::new(),
            grants: Grants::default(),
            policy: Policy::default(),
            secrets: BTreeMap::new(),
            observability: Observability::default(),
        }
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

/// How a capability is requested and granted: the one column that drives reading, checking
/// and the runtime's allowances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapabilityKind {
    /// Granted or not as a whole: requested `"required"`/`"optional"`, granted `true`.
    Flag,
    /// Environment variables by name.
    Names,
    /// Preopened directories, by guest path.
    Dirs,
    /// Destinations (`host:port`) for sockets or HTTP.
    Destinations,
    /// Secret tokens, defined under `[secrets]`.
    Tokens,
}

/// The capability table: each row is a capability's variant, its name in plans, its kind, and
/// for a flag the field of [`Capabilities`] and [`Grants`] that holds it. Adding a capability
/// is a row here (and, for a flag, its two fields) plus its host file in the runtime.
macro_rules! capabilities {
    ($($variant:ident = $name:literal, $kind:ident $(($field:ident))?;)*) => {
        /// A kind of host capability.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Capability {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Capability {
            /// Every capability, in table order.
            pub const ALL: &'static [Capability] = &[$(Capability::$variant,)*];

            /// The name used in plans.
            pub fn as_str(self) -> &'static str {
                match self { $(Capability::$variant => $name,)* }
            }

            /// Looks a capability up by name.
            pub fn parse(s: &str) -> Option<Capability> {
                match s { $($name => Some(Capability::$variant),)* _ => None }
            }

            /// How it is requested and granted.
            pub fn kind(self) -> CapabilityKind {
                match self { $(Capability::$variant => CapabilityKind::$kind,)* }
            }
        }

        impl Capabilities {
            /// How a flag capability is requested, as written (`stdio` does not count for a
            /// stream here; see [`Capabilities::flag_need`]). `None` for other kinds.
            pub fn flag(&self, cap: Capability) -> Option<Need> {
                match cap {
                    $($(Capability::$variant => self.$field,)?)*
                    _ => None,
                }
            }

            /// Sets how a flag capability is requested; other kinds are left alone.
            pub fn set_flag(&mut self, cap: Capability, need: Option<Need>) {
                match cap {
                    $($(Capability::$variant => self.$field = need,)?)*
                    _ => {}
                }
            }
        }

        impl Grants {
            /// Whether a flag capability is granted, as written. `false` for other kinds.
            pub fn flag(&self, cap: Capability) -> bool {
                match cap {
                    $($(Capability::$variant => self.$field,)?)*
                    _ => false,
                }
            }

            /// Grants a flag capability or not; other kinds are left alone.
            pub fn set_flag(&mut self, cap: Capability, granted: bool) {
                match cap {
                    $($(Capability::$variant => self.$field = granted,)?)*
                    _ => {}
                }
            }
        }
    };
}

capabilities! {
    Stdio = "stdio", Flag(stdio);
    Stdin = "stdin", Flag(stdin);
    Stdout = "stdout", Flag(stdout);
    Stderr = "stderr", Flag(stderr);
    Args = "args", Flag(args);
    Env = "env", Names;
    Dirs = "dirs", Dirs;
    Network = "network", Destinations;
    Http = "http", Destinations;
    Clocks = "clocks", Flag(clocks);
    Random = "random", Flag(random);
    Secrets = "secrets", Tokens;
    Metrics = "metrics", Flag(metrics);
    Audit = "audit", Flag(audit);
    Attest = "attest", Flag(attest);
}

impl Capability {
    /// The standard streams, each a capability of its own; `stdio` is all three.
    pub const STREAMS: &'static [Capability] =
        &[Capability::Stdin, Capability::Stdout, Capability::Stderr];

    /// Whether this is one of [`Capability::STREAMS`].
    pub fn is_stream(self) -> bool {
        Capability::STREAMS.contains(&self)
    }
}

/// Whether a run may go ahead without a requested capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// The run stops before instantiation if the capability is not granted.
    #[default]
    Required,
    /// The capability is left out if not granted.
    Optional,
}

/// Capabilities a component requests. Nothing is given that is not requested and granted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Capabilities {
    /// stdin, stdout and stderr together: the same as requesting each of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdio: Option<Need>,
    /// Standard input (the host's, under `exec run`; never under `exec serve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Need>,
    /// Standard output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Need>,
    /// Standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Need>,
    /// Command-line arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Need>,
    /// Environment variables, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<EnvRequest>,
    /// Preopened directories, by guest path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirRequest>,
    /// Outgoing sockets, `host:port` entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<AllowRequest>,
    /// Outgoing HTTP, authority entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<AllowRequest>,
    /// Wall and monotonic clocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clocks: Option<Need>,
    /// Random numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random: Option<Need>,
    /// Secret tokens, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretsRequest>,
    /// The `std:metrics` interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Need>,
    /// The `std:audit` interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<Need>,
    /// The `std:attest` interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attest: Option<Need>,
}

impl Capabilities {
    /// Whether nothing is requested.
    pub fn is_empty(&self) -> bool {
        *self == Capabilities::default()
    }

    /// Whether the capability is requested at all.
    pub fn requests(&self, cap: Capability) -> bool {
        match cap.kind() {
            CapabilityKind::Flag => self.flag(cap).is_some(),
            CapabilityKind::Names => self.env.is_some(),
            CapabilityKind::Dirs => !self.dirs.is_empty(),
            CapabilityKind::Destinations if cap == Capability::Network => self.network.is_some(),
            CapabilityKind::Destinations => self.http.is_some(),
            CapabilityKind::Tokens => self.secrets.is_some(),
        }
    }

    /// How a capability that is granted or not as a whole (a flag: the streams, `args`,
    /// `clocks`, `random`, `metrics`, `audit`, `attest`) is requested; a stream is also
    /// requested by `stdio`. `None` when it is not requested, or not a flag.
    pub fn flag_need(&self, cap: Capability) -> Option<Need> {
        if cap.is_stream() {
            self.flag(cap).or(self.stdio)
        } else {
            self.flag(cap)
        }
    }
}

/// A request for environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EnvRequest {
    /// Variable names.
    pub names: Vec<String>,
    /// Whether the run needs them.
    pub need: Need,
}

/// A request for outgoing network or HTTP access.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AllowRequest {
    /// Destinations: `host:port` for sockets, `host[:port]` for HTTP.
    pub allow: Vec<String>,
    /// Whether the run needs them.
    pub need: Need,
}

/// A request for secret tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SecretsRequest {
    /// Token names, defined in the plan's `secrets`.
    pub tokens: Vec<String>,
    /// Whether the run needs them.
    pub need: Need,
}

/// Read-only or read-write access to a directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Read-only.
    #[default]
    Ro,
    /// Read-write.
    Rw,
}

/// A request for a preopened directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DirRequest {
    /// The path the guest sees.
    pub guest: String,
    /// The access it needs.
    pub mode: Mode,
    /// Whether the run needs it.
    pub need: Need,
}

/// What the host grants, for all components of the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Grants {
    /// stdin, stdout and stderr together.
    #[serde(skip_serializing_if = "is_false")]
    pub stdio: bool,
    /// Standard input.
    #[serde(skip_serializing_if = "is_false")]
    pub stdin: bool,
    /// Standard output.
    #[serde(skip_serializing_if = "is_false")]
    pub stdout: bool,
    /// Standard error.
    #[serde(skip_serializing_if = "is_false")]
    pub stderr: bool,
    /// Command-line arguments.
    #[serde(skip_serializing_if = "is_false")]
    pub args: bool,
    /// Environment variables the host passes through, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Directories the host preopens.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirGrant>,
    /// Socket destinations allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<String>,
    /// HTTP authorities allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
    /// Clocks.
    #[serde(skip_serializing_if = "is_false")]
    pub clocks: bool,
    /// Random numbers.
    #[serde(skip_serializing_if = "is_false")]
    pub random: bool,
    /// `std:metrics`.
    #[serde(skip_serializing_if = "is_false")]
    pub metrics: bool,
    /// `std:audit`.
    #[serde(skip_serializing_if = "is_false")]
    pub audit: bool,
    /// `std:attest`.
    #[serde(skip_serializing_if = "is_false")]
    pub attest: bool,
}

impl Grants {
    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        *self == Grants::default()
    }

    /// Whether the plan grants `cap` at all (a stream also through `stdio`; a list capability
    /// when it lists anything). Secrets are granted by `[secrets]`, not here: `false`.
    pub fn grants(&self, cap: Capability) -> bool {
        match cap.kind() {
            CapabilityKind::Flag if cap.is_stream() => self.flag(cap) || self.stdio,
            CapabilityKind::Flag => self.flag(cap),
            CapabilityKind::Names => !self.env.is_empty(),
            CapabilityKind::Dirs => !self.dirs.is_empty(),
            CapabilityKind::Destinations if cap == Capability::Network => !self.network.is_empty(),
            CapabilityKind::Destinations => !self.http.is_empty(),
            CapabilityKind::Tokens => false,
        }
    }
}

/// A directory the host preopens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DirGrant {
    /// The host directory, relative to the plan file or absolute.
    pub host: String,
    /// The path the guest sees.
    pub guest: String,
    /// The access granted.
    pub mode: Mode,
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
}

/// A signer whose signature is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signer {
    /// A public key, base64 of its DER SubjectPublicKeyInfo.
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
    /// Where audit records go: `stderr` or `file:PATH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
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

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}
