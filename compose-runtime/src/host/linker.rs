//! The one linker builder: WASI (synchronous for runs, asynchronous for a server), `wasi:http`
//! for a server, the project's `std:*` interfaces for imports the plan binds to the host, and
//! traps for imports the plan denies; every other import is refused before instantiation.

use compose_model::Code;
use compose_model::host::{Provided, host_package, same_interface};
use compose_model::plan::{Binding, Capability, Plan};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::state::{HostState, Mode};
use crate::{Effective, ExecError};

/// Adds one of the project's packages to a linker.
type AddToLinker = fn(&mut Linker<HostState>) -> wasmtime::Result<()>;

/// The project's `std:*` packages this host implements, by the capability they are bound
/// with, and how each is linked (only when the plan binds an import of it to the host).
const LINKED: &[(Capability, &str, AddToLinker)] = &[
    (Capability::Secrets, "std:secrets", add_secrets),
    #[cfg(feature = "attest")]
    (Capability::Attest, "std:attest", add_attest),
    #[cfg(feature = "audit")]
    (Capability::Audit, "std:audit", add_audit),
];

#[cfg(feature = "audit")]
fn add_audit(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    super::bindings::audit::Audited::add_to_linker::<HostState, super::audit::HasAudit>(
        linker,
        |h| &mut h.audit,
    )
}

#[cfg(feature = "attest")]
fn add_attest(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    super::bindings::attest::Attested::add_to_linker::<HostState, super::attest::HasAttest>(
        linker,
        |h| &mut h.attest,
    )
}

fn add_secrets(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    super::bindings::SecretUser::add_to_linker::<HostState, super::secrets_store::HasSecrets>(
        linker,
        HostState::secrets,
    )
}

fn fail(what: &str, e: wasmtime::Error) -> ExecError {
    ExecError::new(Code::ExecInvalidComponent, format!("{what}: {e:#}"))
}

/// Checks every import of the composition against what the host provides and the plan binds:
/// WASI is the host's (and `wasi:http` when serving); an import the plan denies traps when
/// called (returns `true` if there is one); anything else is refused (`E0506`).
pub(crate) fn check_imports(
    engine: &Engine,
    plan: &Plan,
    component: &Component,
    allowed: &Effective,
    mode: Mode,
) -> Result<bool, ExecError> {
    #[cfg(not(feature = "serve"))]
    let _ = mode;
    let mut denied = false;
    for (name, _) in component.component_type().imports(engine) {
        let package = host_package(name).map(|p| p.provided);
        match package {
            Some(Provided::Wasi) => continue,
            #[cfg(feature = "serve")]
            Some(Provided::Serve) if mode == Mode::Serve => continue,
            Some(Provided::Serve) => {
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
            _ => {}
        }
        let bound = plan.components.values().find_map(|c| {
            c.imports
                .iter()
                .find(|(k, _)| same_interface(name, k))
                .map(|(_, b)| b)
        });
        match bound {
            Some(Binding::Deny) => denied = true,
            Some(Binding::Host { capability, .. })
                if package == Some(Provided::Bound(*capability))
                    && LINKED.iter().any(|(c, ..)| c == capability) => {}
            Some(Binding::Host { capability, .. }) => {
                return Err(ExecError::new(
                    Code::ExecImportRefused,
                    format!(
                        "the composition imports `{name}` from the host capability `{}`, which this runtime does not provide{}",
                        capability.as_str(),
                        match capability {
                            Capability::Attest => " (compose-runtime's `attest` feature is off)",
                            Capability::Audit => " (compose-runtime's `audit` feature is off)",
                            _ => "",
                        }
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

/// Whether the plan binds an import of `capability`'s package to the host: only then is it
/// linked (an import the plan denies stays a trap).
fn binds(plan: &Plan, capability: Capability) -> bool {
    plan.components.values().any(|c| {
        c.imports.iter().any(|(name, b)| {
            matches!(b, Binding::Host { capability: cap, .. } if *cap == capability)
                && host_package(name).is_some_and(|p| p.provided == Provided::Bound(capability))
        })
    })
}

/// The linker for `component` under `plan`: exactly what the plan is allowed, after
/// [`check_imports`].
pub(crate) fn linker(
    engine: &Engine,
    plan: &Plan,
    component: &Component,
    allowed: &Effective,
    mode: Mode,
) -> Result<Linker<HostState>, ExecError> {
    let denied = check_imports(engine, plan, component, allowed, mode)?;
    let mut linker: Linker<HostState> = Linker::new(engine);
    match mode {
        // Only the WASI interfaces the component imports (`wasi_sync.rs`); a synchronous
        // run's waits in host calls end at its deadline (`io.rs`).
        Mode::Run => super::wasi_sync::add_imported(
            &mut linker,
            engine,
            component,
            plan.policy.timeout_ms.is_some(),
        ),
        #[cfg(feature = "serve")]
        Mode::Serve => wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)),
    }
    .map_err(|e| fail("cannot link WASI", e))?;
    for (capability, package, add) in LINKED {
        if binds(plan, *capability) {
            add(&mut linker).map_err(|e| fail(&format!("cannot link `{package}`"), e))?;
        }
    }
    if denied {
        // Imports the plan denies trap when called; everything else is defined by now.
        linker
            .define_unknown_imports_as_traps(component)
            .map_err(|e| fail("cannot deny imports", e))?;
    }
    Ok(linker)
}
