//! What a run may use: the plan's requests, capped by its grants and by the host's policy.

use std::collections::BTreeSet;

use compose_model::Code;
use compose_model::plan::{Capability, DirGrant, Mode, Need, Plan};

use crate::ExecError;
use crate::secrets::{SecretBackend, SecretBackends};

/// The host's own policy: capabilities it refuses whatever the plan says, where secret values
/// come from, and which secrets guests may see.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct HostPolicy {
    /// Capabilities the host refuses. A required request for one stops the run before
    /// instantiation; an optional one is left out.
    pub refuse: BTreeSet<Capability>,
    /// Secret tokens a guest may read in clear with `token.reveal`. Default: none; guests
    /// can still sign with a granted token and attach it to allowed outgoing HTTP.
    pub reveal: BTreeSet<String>,
    /// Backends by scheme, besides the built-in `env` and `file`.
    pub(crate) secret_backends: SecretBackends,
    /// Set by `exec serve`: a request never reads the server's standard input.
    pub(crate) serving: bool,
    /// Whether the plan's input signatures (`trust.require-signature`) were checked when the
    /// composition was emitted; see [`HostPolicy::inputs_checked_at_emit`].
    pub(crate) inputs_checked: bool,
    /// The folder relative host paths of `grants.dirs` are resolved against (the plan file's);
    /// see [`HostPolicy::plan_folder`].
    pub(crate) plan_folder: Option<std::path::PathBuf>,
    /// The key that signs `std:attest` evidence; see [`HostPolicy::attestation_key`].
    #[cfg(feature = "attest")]
    pub(crate) attestation: Option<crate::host::Attestor>,
    /// The audit log; see [`HostPolicy::audit_log`].
    #[cfg(feature = "audit")]
    pub(crate) audit: Option<crate::audit::AuditLog>,
}

impl HostPolicy {
    /// Whether the host refuses `cap`: refusing `stdio` refuses each stream too.
    pub fn refuses(&self, cap: Capability) -> bool {
        self.refuse.contains(&cap) || (cap.is_stream() && self.refuse.contains(&Capability::Stdio))
    }

    /// Refuses a capability.
    pub fn refuse(mut self, cap: Capability) -> Self {
        self.refuse.insert(cap);
        self
    }

    /// Reads secrets whose reference starts with `scheme:` (e.g. `vault`) from `backend`,
    /// replacing any backend for that scheme, the built-in `env` and `file` included.
    pub fn secret_backend(mut self, scheme: &str, backend: impl SecretBackend) -> Self {
        self.secret_backends
            .insert(scheme, std::sync::Arc::new(backend));
        self
    }

    /// Declares that the plan's signature requirements on its inputs were enforced when this
    /// composition was emitted from it (by `compose_build::emit`, `compose!` or
    /// `composectl emit build`), or that a signed statement naming the plan vouches for that.
    ///
    /// A composed component does not hold its inputs' bytes, so the runtime cannot check their
    /// signatures: without this declaration a plan that requires signed inputs is refused
    /// (`E0701`) rather than run as if its requirement were met. Embedded compositions
    /// (`compose!`, build scripts) were emitted, and checked, at build time and declare it
    /// themselves.
    pub fn inputs_checked_at_emit(mut self) -> Self {
        self.inputs_checked = true;
        self
    }

    /// Resolves relative host folders of the plan's `grants.dirs` against `folder` (the folder
    /// the plan file is in), as the plan format says. Without it they are relative to the
    /// current directory, as for a [`Plan`] built in code.
    pub fn plan_folder(mut self, folder: impl Into<std::path::PathBuf>) -> Self {
        self.plan_folder = Some(folder.into());
        self
    }

    /// Signs `std:attest` evidence with `signer` (a key in memory, `compose_trust::SigningKey`,
    /// or in a PKCS#11 token, `compose_trust::pkcs11::TokenKey`; the evidence says which).
    /// Without a key a run is not allowed `attest`: a required request is refused before
    /// instantiation (`E0501`), an optional one gets `unavailable`.
    #[cfg(feature = "attest")]
    pub fn attestation_key(mut self, signer: Box<dyn compose_trust::Signer + Send>) -> Self {
        self.attestation = Some(crate::host::Attestor::new(signer));
        self
    }

    /// Writes audit records to `log`, which must be the file the plan names
    /// (`observability.audit = "file:PATH"`; [`crate::audit::AuditLog::plan_path`]). A plan
    /// that names a log is refused (`E0801`) by a host given none, never run unaudited; a plan
    /// that names none is refused (`E0801`) by a host given one, which would stay empty.
    #[cfg(feature = "audit")]
    pub fn audit_log(mut self, log: crate::audit::AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// Whether the host has an attestation key.
    fn can_attest(&self) -> bool {
        #[cfg(feature = "attest")]
        return self.attestation.is_some();
        #[cfg(not(feature = "attest"))]
        false
    }

    /// Lets guests read the secret `token` in clear (`token.reveal`).
    pub fn reveal(mut self, token: impl Into<String>) -> Self {
        self.reveal.insert(token.into());
        self
    }
}

/// What the run gets: only what some component requests, the plan grants and the host allows.
///
/// Components composed into one share its WASI imports, so this is the union over the
/// components; a component that does not import an interface cannot use it at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Effective {
    /// The host's standard input.
    pub stdin: bool,
    /// The host's standard output.
    pub stdout: bool,
    /// The host's standard error.
    pub stderr: bool,
    /// Command-line arguments.
    pub args: bool,
    /// Real clocks (otherwise fixed ones).
    pub clocks: bool,
    /// Real random numbers (otherwise a fixed deterministic stream).
    pub random: bool,
    /// Environment variable names passed through.
    pub env: Vec<String>,
    /// Directories preopened.
    pub dirs: Vec<DirGrant>,
    /// Socket destinations allowed.
    pub network: Vec<String>,
    /// HTTP authorities allowed.
    pub http: Vec<String>,
    /// Secret tokens granted (each defined by the plan, with a backend on this host).
    pub secrets: Vec<String>,
    /// `std:attest` evidence, signed with the host's attestation key.
    pub attest: bool,
    /// `std:audit`: records of the guest's own in the plan's audit log.
    pub audit: bool,
}

impl Effective {
    /// Where a flag capability's allowance is kept; `None` for `stdio` (the three streams are
    /// kept one by one), for capabilities of other kinds, and for those this host does not
    /// implement.
    fn flag_mut(&mut self, cap: Capability) -> Option<&mut bool> {
        match cap {
            Capability::Stdin => Some(&mut self.stdin),
            Capability::Stdout => Some(&mut self.stdout),
            Capability::Stderr => Some(&mut self.stderr),
            Capability::Args => Some(&mut self.args),
            Capability::Clocks => Some(&mut self.clocks),
            Capability::Random => Some(&mut self.random),
            _ => None,
        }
    }

    /// Computes what a run of `plan` gets under `host`; a required capability the host refuses
    /// is an error naming the component.
    pub fn compute(plan: &Plan, host: &HostPolicy) -> Result<Effective, ExecError> {
        let unsupported = compose_model::plan::unsupported(plan);
        if let Some(first) = unsupported.first() {
            let all: Vec<String> = unsupported.iter().map(|d| d.to_string()).collect();
            return Err(ExecError::new(
                first.code,
                format!(
                    "the plan asks for what this host does not do, so it will not run:\n  {}",
                    all.join("\n  ")
                ),
            ));
        }
        if !host.inputs_checked
            && let Some((name, _)) = plan
                .components
                .iter()
                .find(|(_, c)| c.trust.as_ref().is_some_and(|t| t.require_signature))
        {
            return Err(ExecError::new(
                Code::TrustUnsigned,
                format!(
                    "the plan requires `{name}` to be signed, which is checked on its own bytes when the composition is emitted; nothing says this composed component was emitted that way, so it will not run: run the plan itself (`exec run PLAN`, which emits and checks), or require a signed composition that names this plan (`--require-signature --trust-key KEY`)"
                ),
            ));
        }
        let g = &plan.grants;
        if g.grants(Capability::Attest) && !cfg!(feature = "attest") {
            return Err(ExecError::new(
                Code::PlanNotImplemented,
                "the plan grants `attest`, but this build of compose-runtime has no `attest` feature, so no evidence could be signed; turn the feature on, or remove the grant",
            ));
        }
        if g.grants(Capability::Audit) && !cfg!(feature = "audit") {
            return Err(ExecError::new(
                Code::PlanNotImplemented,
                "the plan grants `audit`, but this build of compose-runtime has no `audit` feature, so no record could be written; turn the feature on, or remove the grant",
            ));
        }
        let mut e = Effective::default();
        for (name, c) in &plan.components {
            let caps = &c.capabilities;
            // Every flag of the capability table that this host implements (`stdio` stands for
            // the streams; the unimplemented ones were refused above).
            for &cap in Capability::ALL {
                let Some(need) = caps.flag_need(cap) else {
                    continue;
                };
                let Some(slot) = e.flag_mut(cap) else {
                    continue;
                };
                // Named as the plan asks for it: `stdio` covers the streams.
                let asked = if caps.requests(cap) {
                    cap
                } else {
                    Capability::Stdio
                };
                *slot |= allow_as(name, cap, asked, need, g.grants(cap), host)?;
            }
            if let Some(need) = caps.flag_need(Capability::Attest) {
                e.attest |= allow_attest(name, need, g.grants(Capability::Attest), host)?;
            }
            if let Some(need) = caps.flag_need(Capability::Audit) {
                let granted = g.grants(Capability::Audit);
                if granted && plan.observability.audit.is_none() && !host.refuses(Capability::Audit)
                {
                    if need == Need::Required {
                        return Err(crate::audit::no_log(name));
                    }
                } else {
                    e.audit |= allow(name, Capability::Audit, need, granted, host)?;
                }
            }
            if let Some(r) = &caps.env {
                for n in &r.names {
                    if allow(name, Capability::Env, r.need, g.env.contains(n), host)?
                        && !e.env.contains(n)
                    {
                        e.env.push(n.clone());
                    }
                }
            }
            for d in &caps.dirs {
                let grant = g
                    .dirs
                    .iter()
                    .find(|gd| gd.guest == d.guest && (gd.mode == Mode::Rw || d.mode == Mode::Ro));
                if allow(name, Capability::Dirs, d.need, grant.is_some(), host)?
                    && let Some(gd) = grant
                {
                    let mut gd = gd.clone();
                    if let Some(base) = &host.plan_folder
                        && std::path::Path::new(&gd.host).is_relative()
                    {
                        gd.host = base.join(&gd.host).display().to_string();
                    }
                    if !e.dirs.contains(&gd) {
                        e.dirs.push(gd);
                    }
                }
            }
            for (cap, req, granted, slot) in [
                (
                    Capability::Network,
                    &caps.network,
                    &g.network,
                    &mut e.network,
                ),
                (Capability::Http, &caps.http, &g.http, &mut e.http),
            ] {
                let Some(r) = req else { continue };
                for a in &r.allow {
                    if allow(name, cap, r.need, granted.contains(a), host)? && !slot.contains(a) {
                        slot.push(a.clone());
                    }
                }
            }
            if let Some(r) = &caps.secrets {
                for token in &r.tokens {
                    if allow_secret(plan, name, token, r.need, host)? && !e.secrets.contains(token)
                    {
                        e.secrets.push(token.clone());
                    }
                }
            }
        }
        Ok(e)
    }
}

/// Whether `attest` is allowed: granted, not refused, and the host has a key (a required
/// request without one is an error saying how to give one). A build without the `attest`
/// feature refused a grant of it already, as not implemented (`E0214`).
fn allow_attest(
    component: &str,
    need: Need,
    granted: bool,
    host: &HostPolicy,
) -> Result<bool, ExecError> {
    if granted && !host.refuses(Capability::Attest) && !host.can_attest() {
        if need == Need::Required {
            return Err(ExecError::new(
                Code::ExecCapabilityRefused,
                format!(
                    "`{component}` requires `attest`, but this host has no attestation key; give it one (`--attest-key KEY` or `--attest-pkcs11 LABEL`, `HostPolicy::attestation_key`) or make the request optional"
                ),
            ));
        }
        return Ok(false);
    }
    allow(component, Capability::Attest, need, granted, host)
}

/// Whether one secret token is granted: the plan defines it and the host has a backend for its
/// scheme; a required token with no backend is an error naming the scheme.
fn allow_secret(
    plan: &Plan,
    component: &str,
    token: &str,
    need: Need,
    host: &HostPolicy,
) -> Result<bool, ExecError> {
    let reference = plan.secrets.get(token);
    let backend = reference.is_some_and(|r| host.secret_backends.get(r.scheme()).is_some());
    if let Some(r) = reference
        && !backend
        && need == Need::Required
        && !host.refuses(Capability::Secrets)
    {
        return Err(ExecError::new(
            Code::ExecCapabilityRefused,
            format!(
                "`{component}` requires the secret `{token}` (`{}:…`), but this host has no backend for `{}:` secrets; register one (`Builder::secret_backend`, `HostPolicy::secret_backend`{}) or use `env:` or `file:`",
                r.scheme(),
                r.scheme(),
                match r.scheme() {
                    "vault" => ": `secrets::VaultBackend`, compose-runtime's `vault` feature",
                    "pkcs11" => ": `secrets::Pkcs11Backend`, compose-runtime's `pkcs11` feature",
                    _ => "",
                }
            ),
        ));
    }
    allow(component, Capability::Secrets, need, backend, host)
}

/// Whether one request is met; a refused required request is an error.
fn allow(
    component: &str,
    cap: Capability,
    need: Need,
    granted: bool,
    host: &HostPolicy,
) -> Result<bool, ExecError> {
    allow_as(component, cap, cap, need, granted, host)
}

/// [`allow`] for `cap`, requested under the name `asked` (`stdio` for a stream).
fn allow_as(
    component: &str,
    cap: Capability,
    asked: Capability,
    need: Need,
    granted: bool,
    host: &HostPolicy,
) -> Result<bool, ExecError> {
    let serving_stdin = host.serving && cap == Capability::Stdin;
    let refused = host.refuses(cap) || serving_stdin;
    if granted && !refused {
        return Ok(true);
    }
    if need == Need::Required {
        let why = if serving_stdin {
            "`exec serve` never gives a request the server's standard input (request `stdout` and `stderr` rather than `stdio`)"
        } else if refused {
            "the host policy refuses it"
        } else {
            "the plan does not grant it"
        };
        let cap = asked;
        return Err(ExecError::new(
            Code::ExecCapabilityRefused,
            format!(
                "`{component}` requires `{}`, but {why}; the run was stopped before instantiation (grant it, or make the request optional)",
                cap.as_str()
            ),
        ));
    }
    Ok(false)
}
