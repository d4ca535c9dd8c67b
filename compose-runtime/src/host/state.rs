//! One host state for every store (`exec run`, `exec serve`, embedded binaries, typed calls),
//! and the one store setup: WASI context, limits, deadline and fuel, from the plan.

#[cfg(any(feature = "serve", feature = "attest"))]
use std::sync::Arc;

use compose_model::plan::{Determinism, Plan};
use compose_model::{Code, Digest};
#[cfg(feature = "serve")]
use wasmtime::UpdateDeadline;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
#[cfg(feature = "serve")]
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::http::Outgoing;
use super::secrets_store::{SecretGrants, SecretsCtx, SecretsView};
use crate::audit::Audit;
use crate::engine::TICK;
use crate::limits::Limits;
use crate::{Effective, ExecError, HostPolicy};

/// The host state of a store running a composition: its WASI context, resource table, limits,
/// `wasi:http` context and outgoing-request policy, and `std:secrets` state.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limits,
    /// When the plan's deadline passes (`policy.timeout-ms` after the store was made): waits in
    /// host calls end then (`io.rs`).
    pub(crate) deadline: Option<tokio::time::Instant>,
    #[cfg(feature = "serve")]
    http: WasiHttpCtx,
    outgoing: Outgoing,
    #[cfg(feature = "attest")]
    pub(super) attest: super::attest::AttestCtx,
    #[cfg(feature = "audit")]
    pub(super) audit: super::audit::AuditCtx,
}

impl HostState {
    /// The resource table.
    pub(super) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The `wasi:io` waits of this state, bounded by its deadline.
    pub(crate) fn waits(&mut self) -> super::io::Waits<'_> {
        super::io::Waits::new(&mut self.table, self.deadline)
    }

    /// The `std:secrets` view of this state.
    pub(crate) fn secrets(&mut self) -> SecretsView<'_> {
        SecretsView {
            ctx: &mut self.outgoing.secrets,
            table: &mut self.table,
            deadline: self.deadline,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[cfg(feature = "serve")]
impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outgoing,
        }
    }
}

/// How a composition is run: a command to its end, or one request at a time by a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `exec run`, embedded binaries and typed calls: synchronous, trapping at the deadline.
    Run,
    /// `exec serve`: asynchronous, yielding at every epoch tick, with outgoing HTTP.
    #[cfg(feature = "serve")]
    Serve,
}

/// What a session knows of the composed component it runs, for attestation evidence and audit
/// records.
#[derive(Clone, Copy)]
pub(crate) enum Known<'a> {
    /// Its bytes (hashed only if the run is allowed `attest`).
    Bytes(&'a [u8]),
    /// Its digest.
    Digest(Digest),
    /// Nothing: only its compiled code was given.
    Nothing,
}

impl Known<'_> {
    /// The component's digest, if it is known (hashing its bytes).
    #[cfg_attr(not(feature = "attest"), allow(dead_code))]
    pub(crate) fn digest(self) -> Option<Digest> {
        match self {
            Known::Bytes(b) => Some(Digest::of(b)),
            Known::Digest(d) => Some(d),
            Known::Nothing => None,
        }
    }
}

impl Mode {
    /// `run` or `serve`, as audit records name it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Run => "run",
            #[cfg(feature = "serve")]
            Mode::Serve => "serve",
        }
    }
}

/// What every store of one composition starts from, worked out once: the plan's limits, what
/// the run is allowed, its secret grants, its deterministic seed and what attestation evidence
/// says.
pub(crate) struct Session {
    pub(crate) plan: Plan,
    pub(crate) allowed: Effective,
    pub(crate) mode: Mode,
    secrets: SecretGrants,
    #[cfg(feature = "serve")]
    http: Arc<Vec<String>>,
    seed: Digest,
    program: String,
    #[cfg(feature = "attest")]
    attest: Option<Arc<super::attest::Attesting>>,
    /// Where the host's and guests' audit records go (nowhere when the plan names no log).
    pub(crate) audit: Audit,
}

impl Session {
    /// Works out what `plan` is allowed under `host` (refusing a required capability the host
    /// refuses, and what this host does not implement); `known` is what is known of the
    /// component, which attestation evidence names.
    pub(crate) fn new(
        plan: &Plan,
        host: &HostPolicy,
        mode: Mode,
        known: Known,
    ) -> Result<Session, ExecError> {
        // The component's bytes are hashed once, for audit records and attestation evidence,
        // and only when one of them needs the digest.
        let known = match known {
            Known::Bytes(_)
                if plan.observability.audit.is_some()
                    || plan.grants.grants(compose_model::plan::Capability::Attest) =>
            {
                known.digest().map_or(Known::Nothing, Known::Digest)
            }
            known => known,
        };
        let component = plan
            .observability
            .audit
            .is_some()
            .then(|| known.digest())
            .flatten()
            .map(|d| d.to_string());
        let audit = Audit::for_session(plan, host, component, mode.as_str())?;
        let allowed = match Effective::compute(plan, host) {
            Ok(a) => a,
            Err(e) => {
                audit.host("run.refused", &[("code", e.code.as_str())])?;
                audit.flush()?;
                return Err(e);
            }
        };
        #[cfg(feature = "attest")]
        let attest = if allowed.attest {
            Some(super::attest::attesting(plan, host, mode, known)?)
        } else {
            None
        };
        #[cfg(not(feature = "attest"))]
        let _ = known;
        let default_name = match mode {
            Mode::Run => "main",
            #[cfg(feature = "serve")]
            Mode::Serve => "serve",
        };
        Ok(Session {
            secrets: SecretGrants::new(plan, &allowed, host),
            #[cfg(feature = "serve")]
            http: Arc::new(allowed.http.clone()),
            seed: plan.digest(),
            program: plan.name.clone().unwrap_or_else(|| default_name.into()),
            plan: plan.clone(),
            allowed,
            mode,
            #[cfg(feature = "attest")]
            attest,
            audit,
        })
    }

    /// Whether a store of this session holds something whose drop does more than free memory:
    /// an audit log handle (the last one's drop flushes the log), secret backends (a PKCS#11
    /// backend finalizes its token; an application's own backend may do anything), or the
    /// attestation key. Stores that hold none may be left to the operating system at exit.
    pub(crate) fn holds_resources(&self) -> bool {
        self.audit.is_on() || !self.allowed.secrets.is_empty() || self.allowed.attest
    }

    /// Records that a run, server or instance (`kind`: `run.start`, `serve.start`,
    /// `instance.start`) starts, after what it was granted (a record per capability requested).
    pub(crate) fn start(&self, kind: &str) -> Result<(), ExecError> {
        self.audit.capabilities(&self.plan, &self.allowed)?;
        self.audit.host(kind, &[])
    }

    /// Records that a run or server failed before it started (`kind`: `run.failed`,
    /// `serve.failed`), with the error's code, and flushes; returns the error.
    pub(crate) fn failed(&self, kind: &str, e: ExecError) -> ExecError {
        let recorded = self
            .audit
            .host(kind, &[("code", e.code.as_str())])
            .and_then(|()| self.audit.flush());
        match recorded {
            // A required log that failed is the error to report.
            Err(audit) => audit,
            Ok(()) => e,
        }
    }

    /// A store for one run (with `args`) or one request (`request` is its id in log lines):
    /// WASI as allowed, the plan's store limits, its deadline and its fuel.
    pub(crate) fn store(
        &self,
        engine: &Engine,
        args: &[String],
        request: u64,
    ) -> Result<Store<HostState>, ExecError> {
        let policy = &self.plan.policy;
        let deterministic = policy.determinism == Determinism::Required;
        let wasi = super::wasi::context(
            &self.allowed,
            args,
            &self.program,
            deterministic,
            self.seed.as_bytes(),
            policy.timeout_ms.is_some(),
        )?;
        // Outgoing HTTP (and so attaching secrets to it) only where the host makes requests.
        #[cfg(feature = "serve")]
        let http = (self.mode == Mode::Serve).then(|| self.http.clone());
        #[cfg(not(feature = "serve"))]
        let (http, _) = (None, request);
        let audit = self.audit.for_store();
        let mut store = Store::new(
            engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                limits: Limits::new(policy),
                deadline: policy
                    .timeout_ms
                    .map(|ms| tokio::time::Instant::now() + std::time::Duration::from_millis(ms)),
                #[cfg(feature = "serve")]
                http: WasiHttpCtx::new(),
                outgoing: Outgoing {
                    #[cfg(feature = "serve")]
                    allowed: self.http.clone(),
                    #[cfg(feature = "serve")]
                    request,
                    secrets: SecretsCtx::new(self.secrets.clone(), http, audit.clone()),
                    #[cfg(feature = "serve")]
                    audit: audit.clone(),
                },
                #[cfg(feature = "attest")]
                attest: super::attest::AttestCtx::new(self.attest.clone()),
                #[cfg(feature = "audit")]
                audit: super::audit::AuditCtx::new(audit, self.allowed.audit),
            },
        );
        store.limiter(|h| &mut h.limits);
        let ticks = policy
            .timeout_ms
            .map(|ms| ms.div_ceil(TICK.as_millis() as u64).max(1));
        match self.mode {
            Mode::Run => {
                store.set_epoch_deadline(ticks.unwrap_or(u64::MAX));
                store.epoch_deadline_trap();
            }
            #[cfg(feature = "serve")]
            Mode::Serve => {
                // At every epoch tick a running guest yields its worker thread back to the
                // executor, so a request that computes for long (or forever, when the plan sets
                // no `timeout-ms`) shares the CPU with the others instead of holding a worker
                // they need; at the plan's deadline it traps (E0504).
                let mut ticks_left = ticks.map(|t| t - 1);
                store.set_epoch_deadline(1);
                store.epoch_deadline_callback(move |_| match &mut ticks_left {
                    Some(0) => Ok(UpdateDeadline::Interrupt),
                    Some(n) => {
                        *n -= 1;
                        Ok(UpdateDeadline::Yield(1))
                    }
                    None => Ok(UpdateDeadline::Yield(1)),
                });
            }
        }
        if let Some(fuel) = policy.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| ExecError::new(Code::ExecInvalidComponent, format!("{e:#}")))?;
        }
        Ok(store)
    }
}
