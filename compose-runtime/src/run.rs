//! Running a `wasi:cli/run` composition: check imports against the plan, link WASI with the
//! run's allowances, apply limits and deadlines, and report what stopped the guest.

use compose_model::Code;
use compose_model::plan::{Binding, Capability, Plan};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Store, Trap};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};

use crate::engine::TICK;
use crate::limits::Limits;
use crate::secrets::host::{SecretGrants, SecretsCtx, SecretsView};
use crate::{Effective, ExecError, HostPolicy, Runtime};

/// The host state of a store running a composition (WASI context, resource table, limits,
/// secret tokens).
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
    secrets: SecretsCtx,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The `std:secrets` interfaces the runtime links for imports bound to the host's `secrets`.
const SECRETS: &[&str] = &["std:secrets/store@1.", "std:secrets/operations@1."];

/// WASI 0.2 interfaces the runtime links; everything else must be bound by the plan.
const WASI_RUN: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

impl Runtime {
    /// Runs a `wasi:cli/run` composition of `plan` with `args`, and returns its exit code.
    ///
    /// Nothing is given that the plan does not request and grant and `host` does not allow:
    /// a required capability that is refused stops the run before instantiation.
    pub fn run(
        &self,
        plan: &Plan,
        component: &[u8],
        args: &[String],
        host: &HostPolicy,
    ) -> Result<u8, ExecError> {
        let allowed = Effective::compute(plan, host)?;
        let (component, _) = self.compile(component)?;
        self.run_checked(plan, &component, &allowed, host, args)
    }

    /// Runs a compiled `wasi:cli/run` composition of `plan` with `args`; see [`Runtime::run`].
    pub fn run_component(
        &self,
        plan: &Plan,
        component: &Component,
        args: &[String],
        host: &HostPolicy,
    ) -> Result<u8, ExecError> {
        let allowed = Effective::compute(plan, host)?;
        self.run_checked(plan, component, &allowed, host, args)
    }

    fn run_checked(
        &self,
        plan: &Plan,
        component: &Component,
        allowed: &Effective,
        host: &HostPolicy,
        args: &[String],
    ) -> Result<u8, ExecError> {
        let (mut store, linker) = self.prepare(plan, component, allowed, host, args)?;
        let command = match Command::instantiate(&mut store, component, &linker) {
            Ok(c) => c,
            Err(e) if e.downcast_ref::<Trap>().is_none() && store.data().limits.hit.is_none() => {
                return Err(ExecError::new(
                    Code::ExecInvalidComponent,
                    format!(
                        "cannot instantiate the composition: {e:#}; `exec run` needs a component that exports `wasi:cli/run`"
                    ),
                ));
            }
            Err(e) => {
                return Err(classify(
                    &e,
                    store.data().limits.hit.as_deref(),
                    &plan.policy,
                ));
            }
        };
        match command.wasi_cli_run().call_run(&mut store) {
            Ok(Ok(())) => Ok(0),
            Ok(Err(())) => Ok(1),
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<I32Exit>() {
                    return Ok(u8::try_from(exit.0).unwrap_or(1));
                }
                Err(classify(
                    &e,
                    store.data().limits.hit.as_deref(),
                    &plan.policy,
                ))
            }
        }
    }

    /// Instantiates a compiled composition of `plan` under the same deny-by-default linker,
    /// limits and deadline as [`Runtime::run`], for a host that calls its exports itself.
    pub fn instantiate(
        &self,
        plan: &Plan,
        component: &Component,
        host: &HostPolicy,
    ) -> Result<(Store<HostState>, wasmtime::component::Instance), ExecError> {
        let allowed = Effective::compute(plan, host)?;
        let (mut store, linker) = self.prepare(plan, component, &allowed, host, &[])?;
        match linker.instantiate(&mut store, component) {
            Ok(i) => Ok((store, i)),
            Err(e) => Err(classify(
                &e,
                store.data().limits.hit.as_deref(),
                &plan.policy,
            )),
        }
    }

    /// Checks every import of the composition against what the host provides and the plan
    /// binds: WASI (and, when `serving`, `wasi:http`) is linked by the host; a denied import
    /// traps when called (returns `true` if there is one); anything else is refused (`E0506`).
    pub(crate) fn check_imports(
        &self,
        plan: &Plan,
        component: &Component,
        allowed: &Effective,
        serving: bool,
    ) -> Result<bool, ExecError> {
        let mut denied = false;
        for (name, _) in component.component_type().imports(&self.engine) {
            if WASI_RUN.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            if name.starts_with("wasi:http/") && serving {
                continue;
            }
            let bound = plan.components.values().find_map(|c| {
                c.imports
                    .iter()
                    .find(|(k, _)| name == k.as_str() || name.split('@').next() == Some(k.as_str()))
                    .map(|(_, b)| b)
            });
            if name.starts_with("wasi:http/") {
                return Err(ExecError::new(
                    Code::ExecImportRefused,
                    if allowed.http.is_empty() {
                        format!(
                            "the composition imports `{name}`, but the plan grants no outgoing HTTP; deny the import or grant `http`"
                        )
                    } else {
                        format!(
                            "the composition imports `{name}`; outgoing HTTP is served by `exec serve`, not by `exec run`"
                        )
                    },
                ));
            }
            match bound {
                Some(Binding::Deny) => denied = true,
                Some(Binding::Host {
                    capability: Capability::Secrets,
                    ..
                }) if SECRETS.iter().any(|p| name.starts_with(p)) => {}
                Some(Binding::Host { capability, .. }) => {
                    return Err(ExecError::new(
                        Code::ExecImportRefused,
                        format!(
                            "the composition imports `{name}` from the host capability `{}`, which this runtime does not provide yet",
                            capability.as_str()
                        ),
                    ));
                }
                _ => {
                    return Err(ExecError::new(
                        Code::ExecImportRefused,
                        format!(
                            "the composition imports `{name}`, which the host does not provide; wire it to a component or deny it in the plan"
                        ),
                    ));
                }
            }
        }
        Ok(denied)
    }

    /// The store and linker for one run: WASI as allowed, imports checked against the plan,
    /// limits, deadline and fuel set.
    fn prepare(
        &self,
        plan: &Plan,
        component: &Component,
        allowed: &Effective,
        host: &HostPolicy,
        args: &[String],
    ) -> Result<(Store<HostState>, Linker<HostState>), ExecError> {
        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| {
            ExecError::new(
                Code::ExecInvalidComponent,
                format!("cannot link WASI: {e:#}"),
            )
        })?;
        if crate::secrets::host::linked(plan) {
            crate::secrets::host::add_to_linker(&mut linker, |h: &mut HostState| SecretsView {
                ctx: &mut h.secrets,
                table: &mut h.table,
            })?;
        }
        let denied = self.check_imports(plan, component, allowed, false)?;
        if denied {
            // Imports the plan denies trap when called; WASI is already defined, so only they remain.
            linker
                .define_unknown_imports_as_traps(component)
                .map_err(|e| {
                    ExecError::new(
                        Code::ExecInvalidComponent,
                        format!("cannot deny imports: {e:#}"),
                    )
                })?;
        }
        let deterministic = plan.policy.determinism == compose_model::plan::Determinism::Required;
        let program = plan.name.clone().unwrap_or_else(|| "main".into());
        let seed = plan.digest();
        let wasi = crate::wasi::context(allowed, args, &program, deterministic, seed.as_bytes())?;
        let mut store = Store::new(
            &self.engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                limits: Limits::new(&plan.policy),
                secrets: SecretsCtx::new(SecretGrants::new(plan, allowed, host), None),
            },
        );
        store.limiter(|h| &mut h.limits);
        let ticks = plan
            .policy
            .timeout_ms
            .map_or(u64::MAX, |ms| ms.div_ceil(TICK.as_millis() as u64).max(1));
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        if let Some(fuel) = plan.policy.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| ExecError::new(Code::ExecInvalidComponent, format!("{e:#}")))?;
        }
        Ok((store, linker))
    }
}

/// Names what stopped the guest: a limit, the deadline, fuel, the stack, or a trap.
pub(crate) fn classify(
    e: &wasmtime::Error,
    limit: Option<&str>,
    policy: &compose_model::plan::Policy,
) -> ExecError {
    let detail = format!("{e:?}")
        .lines()
        .take(12)
        .collect::<Vec<_>>()
        .join("\n  ");
    if let Some(limit) = limit {
        return ExecError::new(
            Code::ExecLimit,
            format!("the component hit the {limit}, then trapped:\n  {detail}"),
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => ExecError::new(
            Code::ExecTimeout,
            format!(
                "the run passed its deadline of {} ms (`policy.timeout-ms`) and was stopped:\n  {detail}",
                policy.timeout_ms.unwrap_or(0)
            ),
        ),
        Some(Trap::OutOfFuel) => ExecError::new(
            Code::ExecFuel,
            format!(
                "the run used all its fuel ({} units, `policy.fuel`):\n  {detail}",
                policy.fuel.unwrap_or(0)
            ),
        ),
        Some(Trap::StackOverflow) => ExecError::new(
            Code::ExecStackOverflow,
            format!("the component overflowed its stack (unbounded recursion?):\n  {detail}"),
        ),
        _ => ExecError::new(
            Code::ExecTrap,
            format!("the component trapped:\n  {detail}"),
        ),
    }
}
