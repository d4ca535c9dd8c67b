//! One composition, checked and ready: made by the CLI from a plan and a composed component
//! ([`Composition::new`]) and by `compose!` binaries from their embedded parts
//! ([`crate::Builder::load`]); it runs (`run`), instantiates for typed calls
//! (`instantiate_with`) or serves (`serve`, returning a `Server`; compose-runtime's `serve`
//! feature).

#[cfg(feature = "serve")]
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use compose_model::plan::Plan;
use compose_model::{Code, Digest, Hashed};
use wasmtime::Store;
use wasmtime::component::{Component, Instance};

use crate::engine::{Keep, Loaded};
use crate::host::{HostState, Known, Mode, Session};
use crate::run::Ending;
use crate::{ExecError, HostPolicy, Runtime};
#[cfg(feature = "serve")]
use crate::{ServeOptions, ShutdownHandle};

/// An instance of a composition with typed accessors for its exports: call them with
/// `exports.<interface>().call_<function>(&mut store, …)`.
pub struct Instantiated<E> {
    /// The store the instance lives in.
    pub store: Store<HostState>,
    /// The typed exports.
    pub exports: E,
}

/// A component's bytes: an embedded binary's, where they lie (not copied: a copy costs a page
/// fault per page at start), or a copy shared with a server's thread.
#[derive(Clone)]
enum Bytes {
    Static(&'static [u8]),
    Shared(Arc<[u8]>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Static(b) => b,
            Bytes::Shared(b) => b,
        }
    }
}

/// A composition checked against the host policy and ready to run, instantiate or serve.
pub struct Composition {
    /// The plan and what it is allowed under the host policy, worked out once.
    session: Session,
    runtime: Runtime,
    /// Compiled on first use (a composition that is only served is compiled for the server's
    /// engine instead).
    component: OnceLock<Component>,
    /// The component's bytes, for compiling and serving.
    bytes: Bytes,
    /// Their digest, when the caller had it already ([`Composition::new_hashed`]).
    digest: Option<Digest>,
    /// The host policy, for serving.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    host: HostPolicy,
    /// Where its compiled code came from.
    loaded: Loaded,
}

impl Composition {
    /// A composition of `plan` and its composed `component` under `host`, on `runtime` (whose
    /// compiled-code cache, if any, is used). What `plan` is allowed is checked now (a
    /// required capability the host refuses, or what this host does not implement, is an
    /// error); the component is compiled when it is first run or instantiated.
    pub fn new(
        runtime: Runtime,
        plan: &Plan,
        component: &[u8],
        host: HostPolicy,
    ) -> Result<Composition, ExecError> {
        Composition::make(runtime, plan, component.into(), None, host)
    }

    fn make(
        runtime: Runtime,
        plan: &Plan,
        component: Arc<[u8]>,
        digest: Option<Digest>,
        host: HostPolicy,
    ) -> Result<Composition, ExecError> {
        let known = digest.map_or(Known::Bytes(&component), Known::Digest);
        Ok(Composition {
            session: Session::new(plan, &host, Mode::Run, known)?,
            runtime,
            component: OnceLock::new(),
            bytes: Bytes::Shared(component),
            digest,
            host,
            loaded: Loaded::Compiled,
        })
    }

    /// [`Composition::new`] of a component hashed already (to check its signature, say), so
    /// that loading its compiled code from the cache does not hash it again. Bytes shared
    /// already (`Hashed<Arc<[u8]>>`) are kept as they are; others are copied.
    pub fn new_hashed<B: AsRef<[u8]> + Into<Arc<[u8]>>>(
        runtime: Runtime,
        plan: &Plan,
        component: Hashed<B>,
        host: HostPolicy,
    ) -> Result<Composition, ExecError> {
        let digest = component.digest();
        Composition::make(
            runtime,
            plan,
            component.into_bytes().into(),
            Some(digest),
            host,
        )
    }

    /// A composition whose component is compiled already (embedded binaries).
    pub(crate) fn compiled(
        session: Session,
        runtime: Runtime,
        component: Component,
        bytes: &'static [u8],
        host: HostPolicy,
        loaded: Loaded,
    ) -> Composition {
        Composition {
            session,
            runtime,
            component: OnceLock::from(component),
            bytes: Bytes::Static(bytes),
            digest: None,
            host,
            loaded,
        }
    }

    /// The compiled component, compiling it (or loading it from the runtime's cache) first if
    /// need be.
    pub fn component(&self) -> Result<&Component, ExecError> {
        self.component_kept(Keep::WithComponent)
    }

    /// [`Composition::component`], keeping code loaded from the cache as `keep` says.
    fn component_kept(&self, keep: Keep) -> Result<&Component, ExecError> {
        if let Some(c) = self.component.get() {
            return Ok(c);
        }
        // The digest was taken together with these bytes by `new_hashed`.
        let digest = self.digest.unwrap_or_else(|| Digest::of(&self.bytes));
        let (compiled, _) = self.runtime.compile_known(&self.bytes, digest, keep)?;
        Ok(self.component.get_or_init(|| compiled))
    }

    /// Runs a `wasi:cli/run` composition with `args` and returns its exit code.
    pub fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<u8, ExecError> {
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        self.runtime
            .run_session(&self.session, self.component()?, &args, Ending::Drop)
    }

    /// [`Composition::run`] for a process that exits right after (a `compose!` binary's
    /// `main`, `composectl exec run`): the composition and the run's store (the engine,
    /// compiled code, memories and their mappings, the epoch thread) are left to the operating
    /// system, which reclaims them at exit at once instead of unmapping them piece by piece
    /// (about a tenth of a small binary's start-to-exit, bench/README.md). Only those: the
    /// session and host policy (an audit log, secret backends, keys) are dropped as usual, and
    /// so is the store when it holds any of them. Anything else the process must do before it
    /// exits it can still do; calling this where the process goes on leaks an engine (and any
    /// code read from the compiled-code cache) each time.
    pub fn run_to_exit<S: AsRef<str>>(self, args: &[S]) -> Result<u8, ExecError> {
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        // Cached code may run where it is read: it is kept until the process exits.
        let component = self.component_kept(Keep::UntilExit)?;
        let result = self
            .runtime
            .run_session(&self.session, component, &args, Ending::ProcessExit);
        let Composition {
            session,
            runtime,
            component,
            host,
            ..
        } = self;
        drop((session, host));
        std::mem::forget((runtime, component));
        result
    }

    /// Instantiates the composition (deny-by-default, with the plan's limits, as [`run`]) and
    /// hands the instance to `exports`, which returns typed accessors for its exports (the
    /// `Exports::new` that `compose!` generates with wasmtime's `bindgen!`).
    ///
    /// [`run`]: Composition::run
    pub fn instantiate_with<E>(
        &self,
        exports: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<E>,
    ) -> Result<Instantiated<E>, ExecError> {
        let (mut store, instance) = self
            .runtime
            .instantiate_session(&self.session, self.component()?)?;
        let exports = exports(&mut store, &instance).map_err(|e| {
            ExecError::new(
                Code::ExecInvalidComponent,
                format!("the composition's exports do not match their bindings: {e:#}"),
            )
        })?;
        Ok(Instantiated { store, exports })
    }

    /// Serves a composition that exports `wasi:http/incoming-handler` on a thread of its own
    /// (as `serve_with` does) and returns once it listens, or with the reason it could not
    /// start. The component is compiled for the serving engine (the pooling allocator's).
    #[cfg(feature = "serve")]
    pub fn serve(&self, options: &ServeOptions) -> Result<Server, ExecError> {
        let (handle, signal) = crate::shutdown_channel();
        let (plan, bytes, host, options) = (
            self.session.plan.clone(),
            self.bytes.clone(),
            self.host.clone(),
            options.clone(),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("compose-serve".into())
            .spawn(move || {
                crate::serve_with(
                    &plan,
                    &bytes,
                    &host,
                    &options,
                    move |addr| {
                        let _ = tx.send(addr);
                    },
                    signal,
                )
            })
            .map_err(|e| {
                ExecError::new(
                    Code::ExecHostIo,
                    format!("cannot start the server's thread: {e}"),
                )
            })?;
        match rx.recv() {
            Ok(addr) => Ok(Server {
                addr,
                handle,
                thread,
            }),
            // The server stopped before it listened: its result says why.
            Err(_) => match thread.join() {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err(ExecError::new(
                    Code::ExecHostIo,
                    "the server stopped before it listened",
                )),
                Err(_) => Err(ExecError::new(
                    Code::ExecHostIo,
                    "the server's thread panicked",
                )),
            },
        }
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.session.plan
    }

    /// The runtime (engine, limits) the composition runs on.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Whether the component came from the embedded precompiled code (rather than being
    /// compiled at load).
    pub fn from_precompiled(&self) -> bool {
        self.loaded != Loaded::Compiled
    }

    /// Whether the precompiled code runs where it lies in the binary, not from a copy (x86-64
    /// Linux, for code that generated code embedded page-aligned).
    pub fn code_in_place(&self) -> bool {
        self.loaded == Loaded::InPlace
    }
}

/// A server started by [`Composition::serve`].
#[cfg(feature = "serve")]
pub struct Server {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: std::thread::JoinHandle<Result<(), ExecError>>,
}

#[cfg(feature = "serve")]
impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that shuts it down gracefully.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Waits until it has shut down (by its handle, or a signal with
    /// `ServeOptions::stop_on_signals`).
    pub fn wait(self) -> Result<(), ExecError> {
        self.thread.join().unwrap_or_else(|_| {
            Err(ExecError::new(
                Code::ExecHostIo,
                "the server's thread panicked",
            ))
        })
    }

    /// Shuts it down gracefully and waits until in-flight requests are done.
    pub fn shutdown(self) -> Result<(), ExecError> {
        self.handle.shutdown();
        self.wait()
    }
}
