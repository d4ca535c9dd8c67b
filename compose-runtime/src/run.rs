//! Running a `wasi:cli/run` composition: check imports against the plan, link WASI with the
//! run's allowances, apply limits and deadlines, and report what stopped the guest.

use std::sync::LazyLock;

use compose_model::Code;
use compose_model::plan::Plan;
use wasmtime::component::Component;
use wasmtime::{Store, Trap};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::sync::Command;

use crate::host::{self, HostState, Known, Mode, Session};
use crate::{ExecError, HostPolicy, Runtime};

/// What happens to a run's store when the run is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It is dropped: its memories unmapped, its host state freed.
    Drop,
    /// The process exits right after the run (a `compose!` binary's `main`, `composectl exec
    /// run`): the store is left to the operating system, which reclaims a process's memory at
    /// once, rather than unmapping it piece by piece first, unless its host state holds
    /// something whose drop matters (`Session::holds_resources`; see
    /// `Composition::run_to_exit`).
    ProcessExit,
}

/// The Tokio runtime a run's WASI waits on. wasmtime-wasi's synchronous host blocks on its
/// I/O futures in the caller's Tokio runtime if there is one, else in a multi-threaded runtime
/// of its own with a worker per core, which works out the core count by reading the cgroup
/// files (about 0.15 ms) and starts a thread per core. A run outside any Tokio runtime enters
/// this one instead: one worker (the guest's thread polls its own futures; the worker drives
/// I/O and timers), made once per process, the first time a run needs it. `None` if it cannot
/// be made; wasmtime-wasi then uses its own.
static WASI_IO: LazyLock<Option<tokio::runtime::Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("compose-wasi-io")
        .enable_time()
        .enable_io()
        .build()
        .ok()
});

/// Enters [`WASI_IO`] unless the caller is in a Tokio runtime already (whose I/O it then
/// uses); `None` then, or if ours could not be made.
fn enter_wasi_io() -> Option<tokio::runtime::EnterGuard<'static>> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => None,
        Err(_) => WASI_IO.as_ref().map(|rt| rt.enter()),
    }
}

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
        let session = Session::new(plan, host, Mode::Run, Known::Bytes(component))?;
        let (component, _) = self
            .compile(component)
            .map_err(|e| session.failed("run.failed", e))?;
        self.run_session(&session, &component, args, Ending::Drop)
    }

    /// Runs a compiled `wasi:cli/run` composition of `plan` with `args`; see [`Runtime::run`].
    pub fn run_component(
        &self,
        plan: &Plan,
        component: &Component,
        args: &[String],
        host: &HostPolicy,
    ) -> Result<u8, ExecError> {
        let session = Session::new(plan, host, Mode::Run, Known::Nothing)?;
        self.run_session(&session, component, args, Ending::Drop)
    }

    /// Runs a compiled composition in a session made for it.
    pub(crate) fn run_session(
        &self,
        session: &Session,
        component: &Component,
        args: &[String],
        ending: Ending,
    ) -> Result<u8, ExecError> {
        let audit = &session.audit;
        session.start("run.start")?;
        let result = self.run_command(session, component, args, ending);
        let outcome = match &result {
            Ok(code) => format!("exit {code}"),
            Err(e) => e.code.as_str().to_owned(),
        };
        audit.stop("run.stop", &outcome)?;
        result
    }

    /// Instantiates and calls `wasi:cli/run`.
    fn run_command(
        &self,
        session: &Session,
        component: &Component,
        args: &[String],
        ending: Ending,
    ) -> Result<u8, ExecError> {
        let _io = enter_wasi_io();
        let (mut store, linker) = self.prepare(session, component, args)?;
        let result = Self::call_run(&mut store, component, &linker, &session.plan.policy);
        if ending == Ending::ProcessExit && !session.holds_resources() {
            // Nothing in the host state needs its drop (see `Session::holds_resources`): its
            // memory is the operating system's to reclaim.
            std::mem::forget(store);
        }
        result
    }

    /// Instantiates `component` in `store` and calls its `wasi:cli/run`.
    fn call_run(
        mut store: &mut Store<HostState>,
        component: &Component,
        linker: &wasmtime::component::Linker<HostState>,
        policy: &compose_model::plan::Policy,
    ) -> Result<u8, ExecError> {
        let command = match Command::instantiate(&mut store, component, linker) {
            Ok(c) => c,
            Err(e) if e.downcast_ref::<Trap>().is_none() && store.data().limits.hit.is_none() => {
                return Err(ExecError::new(
                    Code::ExecInvalidComponent,
                    format!(
                        "cannot instantiate the composition: {e:#}; `exec run` needs a component that exports `wasi:cli/run`"
                    ),
                ));
            }
            Err(e) => return Err(classify(&e, store.data().limits.hit.as_deref(), policy)),
        };
        match command.wasi_cli_run().call_run(&mut store) {
            Ok(Ok(())) => Ok(0),
            Ok(Err(())) => Ok(1),
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<I32Exit>() {
                    return Ok(u8::try_from(exit.0).unwrap_or(1));
                }
                Err(classify(&e, store.data().limits.hit.as_deref(), policy))
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
        let session = Session::new(plan, host, Mode::Run, Known::Nothing)?;
        self.instantiate_session(&session, component)
    }

    /// [`Runtime::instantiate`] in a session made for it.
    pub(crate) fn instantiate_session(
        &self,
        session: &Session,
        component: &Component,
    ) -> Result<(Store<HostState>, wasmtime::component::Instance), ExecError> {
        // Typed calls are recorded when the instance is made (the host calls into it as long
        // as it likes; nothing marks an end), and the record is flushed at once.
        session.start("instance.start")?;
        session.audit.flush()?;
        session.audit.check()?;
        let (mut store, linker) = {
            // The store's output tasks (a run with a deadline) go to our runtime too.
            let _io = enter_wasi_io();
            self.prepare(session, component, &[])?
        };
        match linker.instantiate(&mut store, component) {
            Ok(i) => Ok((store, i)),
            Err(e) => Err(classify(
                &e,
                store.data().limits.hit.as_deref(),
                &session.plan.policy,
            )),
        }
    }

    /// The store and linker for one run.
    fn prepare(
        &self,
        session: &Session,
        component: &Component,
        args: &[String],
    ) -> Result<(Store<HostState>, wasmtime::component::Linker<HostState>), ExecError> {
        if session.plan.policy.timeout_ms.is_some() {
            // The deadline is counted in epoch ticks.
            self.ticking()?;
        }
        let linker = host::linker(
            self.engine(),
            &session.plan,
            component,
            &session.allowed,
            Mode::Run,
        )?;
        Ok((session.store(self.engine(), args, 0)?, linker))
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
                "the run passed its deadline of {} ms (`policy.timeout-ms`){} and was stopped:\n  {detail}",
                policy.timeout_ms.unwrap_or(0),
                e.downcast_ref::<host::WaitPassed>()
                    .map(|w| format!(" while the guest waited in {}", w.0))
                    .unwrap_or_default()
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
