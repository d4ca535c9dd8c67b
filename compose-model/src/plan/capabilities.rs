//! Capabilities: the capability table (name, kind, and for flags their fields), what a
//! component requests, and what the plan grants. Deny-by-default: nothing is given that is not
//! requested and granted.

use serde::Serialize;

use super::model::is_false;

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
    /// The host directory: absolute, or relative to the plan file's folder (where the runtime
    /// is told it, as `composectl` does; to the current directory otherwise).
    pub host: String,
    /// The path the guest sees.
    pub guest: String,
    /// The access granted.
    pub mode: Mode,
}
