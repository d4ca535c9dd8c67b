//! The host side of `std:secrets/store`: a guest opens a token the run was granted and holds a
//! handle, not the value; it may reveal the value only where the host policy allows. The state
//! here (grants, open tokens, attached headers) is shared with `std:secrets/operations`
//! (`secrets_operations.rs`) and the outgoing-HTTP hook (`http.rs`).
//!
//! Components composed into one share its imports, so a token granted to any component of the
//! plan can be opened by every component that imports `std:secrets` (as with WASI grants).

use std::collections::BTreeMap;
use std::sync::Arc;

use compose_model::plan::Plan;
use wasmtime::component::{HasData, Resource, ResourceTable};

use super::bindings::TokenHandle;
use super::bindings::std::secrets::store;
use crate::secrets::{SecretBackend, SecretError};
use crate::{Effective, HostPolicy};

/// The most tokens one instance may hold open at once (the resource table is host memory, which
/// the plan's memory limit does not cover).
const MAX_OPEN_TOKENS: usize = 1024;

/// Whether `host` (as in a URI: a name, an IPv4 address or a bracketed IPv6 one) is this machine.
#[cfg(feature = "serve")]
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A token the run was granted: its backend and reference, and whether guests may see it.
pub(super) struct Granted {
    backend: Arc<dyn SecretBackend>,
    /// The reference without its scheme, e.g. `API_KEY` for `env:API_KEY`.
    reference: String,
    reveal: bool,
}

impl Granted {
    /// Calls the token's backend with its reference. A backend may take long (a remote vault, an
    /// HSM, an application's own), so under a deadline the call runs on a thread of its own and
    /// is waited for until the deadline only: then the guest traps as at the epoch deadline
    /// (`E0504`), naming `what` it waited in, and the call's result, whenever it comes, is
    /// dropped. Without a deadline it runs on the guest's thread.
    pub(super) fn call<T: Send + 'static>(
        &self,
        deadline: Option<tokio::time::Instant>,
        what: &'static str,
        call: impl FnOnce(&dyn SecretBackend, &str) -> T + Send + 'static,
    ) -> wasmtime::Result<T> {
        let Some(deadline) = deadline.filter(|_| self.backend.may_block()) else {
            return Ok(call(&*self.backend, &self.reference));
        };
        // Calls cut off at their deadline go on until the backend answers; a stalled backend
        // must not gather threads without end (a server calls it for request after request).
        let Some(running) = BackendCall::start() else {
            return Err(wasmtime::format_err!(
                "{MAX_BACKEND_CALLS} secret backend calls are still running past their deadlines; the backend seems stalled"
            ));
        };
        let (backend, reference) = (self.backend.clone(), self.reference.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("compose-secret-backend".into())
            .spawn(move || {
                let _running = running;
                let _ = tx.send(call(&*backend, &reference));
            })
            .map_err(|e| wasmtime::format_err!("cannot start the secret backend's call: {e}"))?;
        let left = deadline
            .into_std()
            .saturating_duration_since(std::time::Instant::now());
        rx.recv_timeout(left).map_err(|e| match e {
            std::sync::mpsc::RecvTimeoutError::Timeout => super::io::passed(what),
            std::sync::mpsc::RecvTimeoutError::Disconnected => {
                wasmtime::format_err!("the secret backend panicked in {what}")
            }
        })
    }
}

/// The most secret backend calls running on threads of their own at once, in this process.
const MAX_BACKEND_CALLS: usize = 64;

/// Secret backend calls running on threads of their own now.
static BACKEND_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One of [`BACKEND_CALLS`], counted until dropped.
struct BackendCall;

impl BackendCall {
    /// Counts a call, unless [`MAX_BACKEND_CALLS`] are running.
    fn start() -> Option<BackendCall> {
        use std::sync::atomic::Ordering;
        BACKEND_CALLS
            .try_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_BACKEND_CALLS).then_some(n + 1)
            })
            .ok()
            .map(|_| BackendCall)
    }
}

impl Drop for BackendCall {
    fn drop(&mut self) {
        BACKEND_CALLS.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Every token the plan defines, granted (`Some`) or not; made once per run or server.
#[derive(Clone, Default)]
pub(crate) struct SecretGrants(Arc<BTreeMap<String, Option<Granted>>>);

impl SecretGrants {
    /// The tokens of `plan`, granted as `allowed` says, with the backends and reveal policy of
    /// `host`. A granted token whose scheme has no backend was refused by
    /// [`Effective::compute`] already; here it is left ungranted.
    pub(crate) fn new(plan: &Plan, allowed: &Effective, host: &HostPolicy) -> SecretGrants {
        let tokens = plan
            .secrets
            .iter()
            .map(|(name, r)| {
                let granted = allowed.secrets.contains(name).then(|| {
                    let (scheme, reference) = r.as_str().split_once(':').unwrap_or(("", ""));
                    host.secret_backends.get(scheme).map(|backend| Granted {
                        backend,
                        reference: reference.to_owned(),
                        reveal: host.reveal.contains(name),
                    })
                });
                (name.clone(), granted.flatten())
            })
            .collect();
        SecretGrants(Arc::new(tokens))
    }
}

/// A secret header to add to a store's outgoing requests to one authority (read by the
/// outgoing-request hook, which only a build with the `serve` feature has).
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) struct AddedHeader {
    /// `host:port`.
    pub(crate) authority: String,
    pub(crate) name: http::HeaderName,
    /// Marked sensitive, so it is never logged.
    pub(crate) value: http::HeaderValue,
}

/// One store's `std:secrets` state.
pub(crate) struct SecretsCtx {
    pub(super) grants: SecretGrants,
    /// The outgoing-HTTP allowlist (`host:port`) when the store can make requests at all.
    pub(super) http: Option<Arc<Vec<String>>>,
    /// Headers `add-http-header` asked for, added by the outgoing-request hook.
    pub(crate) headers: Vec<AddedHeader>,
    /// Tokens open now.
    open: usize,
    /// Where opening and using tokens is recorded (by name: never a value).
    pub(super) audit: crate::audit::Audit,
}

impl SecretsCtx {
    /// State for a store with `grants`; `http` is the allowlist when the store serves
    /// outgoing HTTP (`exec serve`), `None` under `exec run`.
    pub(crate) fn new(
        grants: SecretGrants,
        http: Option<Arc<Vec<String>>>,
        audit: crate::audit::Audit,
    ) -> SecretsCtx {
        SecretsCtx {
            grants,
            http,
            headers: Vec::new(),
            open: 0,
            audit,
        }
    }

    pub(super) fn granted(&self, name: &str) -> Result<&Granted, store::Error> {
        match self.grants.0.get(name) {
            Some(Some(g)) => Ok(g),
            Some(None) => Err(store::Error::Denied(format!(
                "the secret `{name}` is not granted to this composition: no component requests it, or the host refused `secrets`"
            ))),
            None => Err(store::Error::UnknownToken(format!(
                "the plan defines no secret `{name}`"
            ))),
        }
    }
}

/// What the generated `std:secrets` traits are implemented on: a store's secrets state and its
/// resource table.
pub(crate) struct SecretsView<'a> {
    pub(crate) ctx: &'a mut SecretsCtx,
    pub(crate) table: &'a mut ResourceTable,
    /// The store's deadline, which a backend call may not outlast.
    pub(crate) deadline: Option<tokio::time::Instant>,
}

pub(crate) struct HasSecrets;

impl HasData for HasSecrets {
    type Data<'a> = SecretsView<'a>;
}

pub(super) fn from_backend(name: &str, e: SecretError) -> store::Error {
    match e {
        SecretError::NotFound(m) | SecretError::Backend(m) => {
            store::Error::Backend(format!("secret `{name}`: {m}"))
        }
        SecretError::Unsupported(m) => store::Error::Unsupported(format!("secret `{name}`: {m}")),
    }
}

impl SecretsView<'_> {
    /// Records a host event about the token `name`; a required audit log that failed traps.
    pub(super) fn record(
        &self,
        kind: &str,
        name: &str,
        fields: &[(&str, &str)],
    ) -> wasmtime::Result<()> {
        // A name the plan does not define is the guest's words: not written into a host record.
        let name = if self.ctx.grants.0.contains_key(name) {
            name
        } else {
            "(not defined by the plan)"
        };
        let mut all = vec![("token", name)];
        all.extend_from_slice(fields);
        self.ctx
            .audit
            .caused(kind, &all)
            .map_err(wasmtime::Error::new)
    }
}

impl store::Host for SecretsView<'_> {}

impl store::HostToken for SecretsView<'_> {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<TokenHandle>, store::Error>> {
        if let Err(e) = self.ctx.granted(&name) {
            self.record("secret.open-denied", &name, &[])?;
            return Ok(Err(e));
        }
        if self.ctx.open >= MAX_OPEN_TOKENS {
            return Ok(Err(store::Error::Denied(format!(
                "an instance may hold at most {MAX_OPEN_TOKENS} tokens open; drop some first"
            ))));
        }
        self.ctx.open += 1;
        self.record("secret.opened", &name, &[])?;
        Ok(Ok(self.table.push(TokenHandle { name })?))
    }

    fn name(&mut self, token: Resource<TokenHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&token)?.name.clone())
    }

    fn reveal(
        &mut self,
        token: Resource<TokenHandle>,
    ) -> wasmtime::Result<Result<Vec<u8>, store::Error>> {
        let name = self.table.get(&token)?.name.clone();
        let g = match self.ctx.granted(&name) {
            Ok(g) => g,
            Err(e) => return Ok(Err(e)),
        };
        if !g.reveal {
            self.record("secret.reveal-denied", &name, &[])?;
            return Ok(Err(store::Error::Denied(format!(
                "the host does not let guests reveal `{name}`; sign with it or attach it to a request instead, or let the host reveal it (`--reveal {name}`, `Builder::reveal`)"
            ))));
        }
        let read = match g.call(
            self.deadline,
            "`std:secrets/store.token.reveal`",
            |backend, reference| backend.read(reference),
        ) {
            Ok(read) => read,
            Err(stopped) => {
                self.record("secret.revealed", &name, &[("outcome", "stopped")])?;
                return Err(stopped);
            }
        };
        let value = read
            .map(|s| s.expose().to_vec())
            .map_err(|e| from_backend(&name, e));
        let outcome = if value.is_ok() { "revealed" } else { "failed" };
        self.record("secret.revealed", &name, &[("outcome", outcome)])?;
        Ok(value)
    }

    fn drop(&mut self, token: Resource<TokenHandle>) -> wasmtime::Result<()> {
        self.table.delete(token)?;
        self.ctx.open = self.ctx.open.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_this_machine_is_loopback() {
        for host in ["127.0.0.1", "127.9.9.9", "[::1]", "localhost", "LocalHost"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "example.com",
            "[::2]",
            "localhost.example.com",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
