//! Compositions embedded in a binary at build time (by `compose!` or `include_composed!`): the
//! canonical plan, the composed component and optionally its precompiled code, each checked
//! against the digest recorded at build time before it is used.

use compose_model::plan::{self, Capability, Plan};
use compose_model::{Code, Digest};

use crate::host::{Known, Mode, Session};
use wasmtime::component::Component;

use crate::engine::Loaded;
use crate::{Composition, ExecError, HostPolicy, Runtime};

/// What the build put into the binary. Written by generated code; read with [`Embedded::load`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Embedded {
    /// The composition's name (the plan's `name`, or the generated type's).
    pub name: &'static str,
    /// The plan's canonical CBOR.
    pub plan: &'static [u8],
    /// The plan's digest, `sha256:…`.
    pub plan_digest: &'static str,
    /// The composed component.
    pub component: &'static [u8],
    /// The component's digest, `sha256:…`.
    pub component_digest: &'static str,
    /// Code precompiled at build time, if the build made it.
    pub precompiled: Option<Precompiled>,
    /// Sigstore bundles for the component that the build embedded (JSON). They vouch for
    /// nothing by themselves: [`Builder::require_signature`] checks them against keys the
    /// application supplies.
    pub bundles: &'static [&'static str],
}

/// The page size [`PageAligned`] aligns to.
pub(crate) const PAGE: usize = 4096;

/// Bytes starting on a 4 KiB page boundary and filling whole pages (the type's size is a
/// multiple of its alignment): how generated code embeds precompiled code, so that it can run
/// where it lies in the binary rather than from a copy ([`Embedded::with_precompiled_pages`]).
#[repr(C, align(4096))]
#[derive(Debug)]
pub struct PageAligned<T: ?Sized>(pub T);

impl Precompiled {
    /// `code`, if it is still the contents of the [`PageAligned`] it was given in (the pages
    /// it spans are then its own).
    pub(crate) fn in_pages(&self) -> Option<&'static [u8]> {
        let pages = &self.pages?.0;
        (std::ptr::eq(pages.as_ptr(), self.code.as_ptr()) && pages.len() == self.code.len())
            .then_some(pages)
    }
}

/// Code precompiled at build time for the runtime's engine configuration.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Precompiled {
    /// The serialized code (`Engine::precompile_component`).
    pub code: &'static [u8],
    /// The [`PageAligned`] `code` was given in, if it was: x86-64 Linux runs the code in place
    /// (rather than from a copy) while `code` is still exactly its contents.
    pages: Option<&'static PageAligned<[u8]>>,
    /// Its digest, `sha256:…`.
    pub digest: &'static str,
    /// The engine and CPU it was compiled for, as one line
    /// ([`compose_engine::Compatibility::line`]), compared with this build's before the code
    /// is loaded.
    pub compatibility: &'static str,
}

impl Embedded {
    /// Describes an embedded composition (used by generated code).
    pub const fn new(
        name: &'static str,
        plan: &'static [u8],
        plan_digest: &'static str,
        component: &'static [u8],
        component_digest: &'static str,
    ) -> Embedded {
        Embedded {
            name,
            plan,
            plan_digest,
            component,
            component_digest,
            precompiled: None,
            bundles: &[],
        }
    }

    /// Adds signature bundles (used by generated code).
    pub const fn with_bundles(mut self, bundles: &'static [&'static str]) -> Embedded {
        self.bundles = bundles;
        self
    }

    /// Adds precompiled code (used by generated code).
    pub const fn with_precompiled(
        mut self,
        code: &'static [u8],
        digest: &'static str,
        compatibility: &'static str,
    ) -> Embedded {
        self.precompiled = Some(Precompiled {
            code,
            digest,
            compatibility,
            pages: None,
        });
        self
    }

    /// Adds precompiled code in pages of its own (used by generated code): like
    /// [`Embedded::with_precompiled`], and on x86-64 Linux the code runs where it lies.
    pub const fn with_precompiled_pages(
        mut self,
        code: &'static PageAligned<[u8]>,
        digest: &'static str,
        compatibility: &'static str,
    ) -> Embedded {
        self.precompiled = Some(Precompiled {
            code: &code.0,
            digest,
            compatibility,
            pages: Some(code),
        });
        self
    }

    /// Checks the embedded plan and component against their recorded digests and reads the
    /// plan. A mismatch (`E0509`) means the binary was altered or built wrongly; nothing runs.
    pub fn plan(&self) -> Result<Plan, ExecError> {
        check_digest("plan", self.name, self.plan, self.plan_digest)?;
        check_digest(
            "component",
            self.name,
            self.component,
            self.component_digest,
        )?;
        plan::from_cbor(self.plan).map_err(|diags| {
            let first = diags.first().map(ToString::to_string).unwrap_or_default();
            ExecError::new(
                Code::ExecEmbeddedMismatch,
                format!(
                    "the plan embedded for `{}` does not read: {first}; rebuild the binary",
                    self.name
                ),
            )
        })
    }

    /// A builder to choose the host policy before loading.
    pub fn builder(&self) -> Builder {
        Builder {
            embedded: *self,
            host: HostPolicy::default(),
            precompiled: true,
            #[cfg(feature = "signatures")]
            signature_required: false,
            #[cfg(feature = "signatures")]
            signers: Vec::new(),
        }
    }

    /// Loads the composition with the default host policy (everything the plan grants).
    pub fn load(&self) -> Result<Composition, ExecError> {
        self.builder().load()
    }

    /// Runs a `wasi:cli/run` composition with this process's arguments (after the program
    /// name) and returns the exit code to end the process with: the guest's own, or 2 (with
    /// the error on stderr) when the host could not run it. Meant as the last thing `main`
    /// does: the run's engine and memory are left to the operating system at exit
    /// ([`Composition::run_to_exit`]).
    pub fn main(&self) -> std::process::ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match self.load().and_then(|c| c.run_to_exit(&args)) {
            Ok(code) => std::process::ExitCode::from(code),
            Err(e) => {
                eprintln!("{e}");
                std::process::ExitCode::from(2)
            }
        }
    }
}

impl Embedded {
    /// Serves a composition that exports `wasi:http/incoming-handler` on `addr` until SIGINT
    /// or SIGTERM (as `serve_with` does); prints the address it listens on to stderr.
    /// The embedded precompiled code is loaded into the serving engine (the pooling
    /// allocator's), as [`Builder::load`] loads it.
    pub fn serve(&self, addr: std::net::SocketAddr) -> Result<(), ExecError> {
        self.builder().serve(addr)
    }
}

pub(crate) fn check_digest(
    what: &str,
    name: &str,
    bytes: &[u8],
    recorded: &str,
) -> Result<(), ExecError> {
    let have = Digest::of(bytes);
    if have.to_string() == recorded {
        return Ok(());
    }
    Err(ExecError::new(
        Code::ExecEmbeddedMismatch,
        format!(
            "the {what} embedded for `{name}` has digest `{have}`, but the build recorded `{recorded}`; the binary was altered or built wrongly, so it will not run; rebuild it"
        ),
    ))
}

/// Proof that precompiled code matched the digest recorded for it ([`check_code`]): what
/// `Runtime::load_embedded` needs before it hands the code to Wasmtime.
pub(crate) struct CodeChecked(());

/// Checks `precompiled` against the digest recorded for it: `E0509` if the code is not what the
/// build wrote. (Hashing it on a thread of its own, overlapping the plan's checks and the
/// engine's set-up, was measured and was slower: starting a thread costs what it saved.)
pub(crate) fn check_code(name: &str, precompiled: &Precompiled) -> Result<CodeChecked, ExecError> {
    check_digest(
        "precompiled code",
        name,
        precompiled.code,
        precompiled.digest,
    )?;
    Ok(CodeChecked(()))
}

/// Chooses the host policy for an embedded composition, then loads it.
#[derive(Clone, Debug)]
pub struct Builder {
    embedded: Embedded,
    host: HostPolicy,
    precompiled: bool,
    #[cfg(feature = "signatures")]
    signature_required: bool,
    #[cfg(feature = "signatures")]
    signers: Vec<crate::trust::PublicKey>,
}

impl Builder {
    /// Refuses a capability the plan grants: a component that requires it stops the load with
    /// `E0501`; one that only wants it runs without it. Default: nothing refused.
    pub fn refuse(mut self, capability: Capability) -> Builder {
        self.host.refuse.insert(capability);
        self
    }

    /// Reads secrets whose reference starts with `scheme:` from `backend` (e.g. `"vault"` with
    /// [`crate::secrets::VaultBackend::from_env`]), replacing any backend for that scheme,
    /// including the built-in `env` and `file`. Plans name only the schemes of
    /// [`compose_model::plan::SecretRef::SCHEMES`]. A component that requires a secret whose
    /// scheme has no backend stops the load with `E0501`.
    pub fn secret_backend(
        mut self,
        scheme: &str,
        backend: impl crate::secrets::SecretBackend,
    ) -> Builder {
        self.host = self.host.secret_backend(scheme, backend);
        self
    }

    /// Lets guests read the secret `token` in clear with `token.reveal`. Default: no token;
    /// guests can still sign with a granted token, or attach it to allowed outgoing HTTP.
    pub fn reveal(mut self, token: impl Into<String>) -> Builder {
        self.host = self.host.reveal(token);
        self
    }

    /// Replaces the host policy. Default: [`HostPolicy::default`].
    pub fn host_policy(mut self, host: HostPolicy) -> Builder {
        self.host = host;
        self
    }

    /// Loads (or serves) only if a bundle embedded at build time is a composition statement,
    /// signed by one of `keys`, that names this very component and plan; otherwise the load
    /// is refused with the trust code for why (`E0701`–`E0710`) before anything is compiled
    /// or instantiated. The keys must come from the application (e.g. `include_str!` of a PEM
    /// file it ships, or its configuration): a key embedded next to the bytes it vouches for
    /// proves no more than the digest check every load already does. Repeatable; any one key
    /// suffices. The embedded precompiled code is used only when a verified statement names it
    /// too (`Config::sign_key` signs it so); otherwise the signed component is compiled at load.
    ///
    /// Needs compose-runtime's `signatures` feature (the Sigstore verifier, about 2.6 MB of
    /// code): without it there is no such method, so a binary cannot ask for a check it would
    /// not make.
    #[cfg(feature = "signatures")]
    pub fn require_signature(
        mut self,
        keys: impl IntoIterator<Item = crate::trust::PublicKey>,
    ) -> Builder {
        // Asked with no key, the requirement stands and nothing can meet it: every load is
        // refused rather than run unchecked.
        self.signature_required = true;
        self.signers.extend(keys);
        self
    }

    /// The check [`Builder::require_signature`] asks for; whether the embedded precompiled
    /// code may be used (always, unless a signature is required and no verified statement
    /// names that code: the signature covers the component, which is then compiled at load).
    /// With the `audit` feature and a log, the outcome is recorded (`signature.verified`,
    /// `signature.refused`).
    fn check_signature(&self, plan: &Plan) -> Result<bool, ExecError> {
        #[cfg(feature = "signatures")]
        if self.signature_required {
            let checked = crate::signed::check_embedded(&self.embedded, &self.signers);
            #[cfg(feature = "audit")]
            if let Some(log) = &self.host.audit
                && log.is_for(plan, self.host.plan_folder.as_deref())
            {
                let (kind, field) = match &checked {
                    Ok(covered) => (
                        "signature.verified",
                        ("covers-precompiled-code", covered.to_string()),
                    ),
                    Err(e) => ("signature.refused", ("code", e.code.as_str().to_owned())),
                };
                let recorded = log.host_event(
                    plan,
                    Some(self.embedded.component_digest),
                    kind,
                    &[(field.0, &field.1)],
                );
                if let Err(e) = recorded {
                    if plan.observability.audit_required {
                        return Err(e);
                    }
                    eprintln!("audit: {e}");
                }
            }
            return checked;
        }
        let _ = plan;
        Ok(true)
    }

    /// Whether to use the embedded precompiled code when it fits this engine. Default: `true`.
    /// With `false` the component is always compiled at load, which a build without the `jit`
    /// feature cannot do (`E0512`).
    pub fn precompiled(mut self, use_it: bool) -> Builder {
        self.precompiled = use_it;
        self
    }

    /// Serves a composition that exports `wasi:http/incoming-handler` on `addr` with this
    /// builder's host policy, until SIGINT or SIGTERM (as `serve_with` does); prints the
    /// address it listens on to stderr. The embedded precompiled code is loaded into the
    /// serving engine (the pooling allocator's) as [`Builder::load`] loads it. Without
    /// compose-runtime's `serve` feature it refuses (`E0214`); a `compose!` plan that serves is
    /// then a compile error already.
    #[cfg(not(feature = "serve"))]
    pub fn serve(self, addr: std::net::SocketAddr) -> Result<(), ExecError> {
        let _ = (self, addr);
        Err(ExecError::new(
            Code::PlanNotImplemented,
            "this build cannot serve: compose-runtime's `serve` feature is off; depend on compose-runtime with `features = [\"serve\"]`",
        ))
    }

    /// Serves a composition that exports `wasi:http/incoming-handler` on `addr` with this
    /// builder's host policy, until SIGINT or SIGTERM (as `serve_with` does); prints the
    /// address it listens on to stderr. The embedded precompiled code is loaded into the
    /// serving engine (the pooling allocator's) as [`Builder::load`] loads it.
    #[cfg(feature = "serve")]
    pub fn serve(self, addr: std::net::SocketAddr) -> Result<(), ExecError> {
        let plan = self.embedded.plan()?;
        let code_covered = self.check_signature(&plan)?;
        // The macro (or build script) emitted it from this plan, input signatures checked.
        let host = self.host.clone().inputs_checked_at_emit();
        let (_handle, signal) = crate::shutdown_channel();
        let mut options = crate::ServeOptions::new(addr);
        // Like `main`, this serves a whole process: SIGINT and SIGTERM stop it gracefully.
        options.stop_on_signals = true;
        let policy = plan.policy.clone();
        crate::serve::serve_loaded_with(
            &plan,
            &host,
            self.known(),
            &options,
            |bound| eprintln!("serving http://{bound}/"),
            signal,
            |runtime| Ok(self.component_for(runtime, &policy, code_covered)?.0),
        )
    }

    /// The embedded component, by the digest recorded for it (checked by `Embedded::plan`).
    fn known(&self) -> Known<'static> {
        match self.embedded.component_digest.parse() {
            Ok(d) => Known::Digest(d),
            Err(_) => Known::Bytes(self.embedded.component),
        }
    }

    /// Checks digests, reads the plan, checks the host policy against it, and prepares the
    /// component: from the precompiled code when it fits this engine, else by compiling it
    /// (with a warning on stderr when precompiled code was there but did not fit). Without a
    /// compiler ([`crate::JIT`] false), code that does not fit is refused (`E0511`), and so is
    /// a load that would compile (`E0512`).
    pub fn load(mut self) -> Result<Composition, ExecError> {
        // The macro (or build script) emitted it from this plan, input signatures checked.
        self.host = self.host.inputs_checked_at_emit();
        let plan = self.embedded.plan()?;
        let code_covered = self.check_signature(&plan)?;
        let session = Session::new(&plan, &self.host, Mode::Run, self.known())?;
        let runtime = Runtime::new(&plan.policy)?;
        let (component, loaded) = self.component_for(&runtime, &plan.policy, code_covered)?;
        Ok(Composition::compiled(
            session,
            runtime,
            component,
            self.embedded.component,
            self.host,
            loaded,
        ))
    }

    /// The component for `runtime`'s engine, and whether it came from the precompiled code:
    /// that code when it is there, may be used (`code_covered`: see
    /// [`Builder::require_signature`]) and fits; else the component compiled, or a coded
    /// refusal without a compiler.
    fn component_for(
        &self,
        runtime: &Runtime,
        policy: &plan::Policy,
        code_covered: bool,
    ) -> Result<(Component, Loaded), ExecError> {
        let e = &self.embedded;
        let Some(p) = e.precompiled else {
            return Ok((runtime.compile(e.component)?.0, Loaded::Compiled));
        };
        let unused = if !self.precompiled {
            "precompiled code is turned off (`Builder::precompiled(false)`)".to_owned()
        } else if !code_covered {
            "no verified signature names the precompiled code (sign it with `Config::sign_key`, which names it)".to_owned()
        } else {
            // `check_code`: E0509 when it is not the code the build recorded (the binary was
            // altered: refused with or without a compiler, like an altered plan or
            // component); then `load_embedded`'s `Err(why)` when it does not fit this engine
            // or CPU.
            let checked = check_code(e.name, &p)?;
            match runtime.load_embedded(&p, policy, checked) {
                Ok(loaded) => return Ok(loaded),
                Err(why) if !crate::JIT => {
                    // A CPU below the fixed baseline gains nothing from a rebuild.
                    let what = if why.contains("this CPU lacks") {
                        "This CPU is below the documented baseline: build the binary with compose-runtime's `jit` feature, which compiles for this CPU at load"
                    } else {
                        "Rebuild the binary for this machine, or build it with compose-runtime's `jit` feature"
                    };
                    return Err(ExecError::new(
                        Code::ExecPrecompiledUnfit,
                        format!(
                            "the code precompiled for `{}` cannot run here: {why}; this build has no compiler to compile the component instead. {what}",
                            e.name
                        ),
                    ));
                }
                Err(why) => {
                    eprintln!(
                        "warning: the code precompiled for `{}` is not used: {why}; compiling the component instead",
                        e.name
                    );
                    return Ok((runtime.compile(e.component)?.0, Loaded::Compiled));
                }
            }
        };
        match runtime.compile(e.component) {
            Ok((component, _)) => Ok((component, Loaded::Compiled)),
            Err(err) if err.code == Code::ExecNoCompiler => Err(ExecError::new(
                Code::ExecNoCompiler,
                format!(
                    "{unused}, so `{}` would have to be compiled: {}",
                    e.name, err.message
                ),
            )),
            Err(err) => Err(err),
        }
    }
}
