//! Serving a `wasi:http/incoming-handler` composition: one fresh instance per request (made
//! cheap by `ProxyPre` and the pooling allocator), per-request limits and deadline from the
//! plan, outgoing HTTP only to the plan's allowlist, a 500 with a request id for a request that
//! traps, and graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use compose_model::Code;
use compose_model::plan::Plan;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::host::{HostState, Known, Mode, Session};
use crate::{ExecError, HostPolicy, pooling_config};

/// How to serve.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// How long in-flight requests may take to finish after a shutdown signal. Default: 10 s.
    pub shutdown_timeout: Duration,
    /// Concurrent instances the pooling allocator holds (each request is one) when the plan's
    /// `policy.concurrency` does not say. Default: 1,000.
    pub pool_size: u32,
    /// Whether SIGINT and SIGTERM shut the server down gracefully. Default: `false`: a library
    /// installs no signal handlers unless asked (`composectl` and `compose!` binaries ask).
    pub stop_on_signals: bool,
}

impl ServeOptions {
    /// Defaults, listening on `addr`.
    pub fn new(addr: SocketAddr) -> ServeOptions {
        ServeOptions {
            addr,
            shutdown_timeout: Duration::from_secs(10),
            pool_size: 1000,
            stop_on_signals: false,
        }
    }
}

/// Tells a running server to shut down gracefully (as SIGINT or SIGTERM do, when
/// [`ServeOptions::stop_on_signals`] is set).
#[derive(Clone, Debug)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    /// Stops accepting connections and lets in-flight requests finish.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// The engine for serving `plan`: the runtime's configuration plus the pooling allocator
/// (falls back to on-demand allocation, with a warning, where the pool cannot be reserved).
fn serve_engine(plan: &Plan, pool: u32) -> Result<Engine, ExecError> {
    let mut config = crate::engine::runtime_config(&plan.policy);
    let pooling = pooling_config(pool, &plan.policy);
    config.allocation_strategy(pooling);
    match Engine::new(&config) {
        Ok(e) => Ok(e),
        Err(e) => {
            eprintln!(
                "warning: the pooling allocator is unavailable ({e:#}); allocating per request instead"
            );
            Engine::new(&crate::engine::runtime_config(&plan.policy)).map_err(|e| {
                ExecError::new(
                    Code::ExecInvalidComponent,
                    format!("cannot configure Wasmtime: {e:#}"),
                )
            })
        }
    }
}

/// What every request needs: the pre-instantiated composition and the session it runs in.
struct Service {
    pre: ProxyPre<HostState>,
    session: Session,
    next_id: AtomicU64,
    /// Stops the server: when the audit log the plan requires has failed.
    stop: watch::Sender<bool>,
    /// Guest tasks running (a request's instance may run on after its connection closed):
    /// the server's stop record waits for them, up to the shutdown timeout.
    in_flight: Arc<AtomicUsize>,
}

/// Counts a running guest task for as long as it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// While the server runs, checks every 100 ms that the audit log the plan requires has not
/// failed (a flush on the log's own thread, a record written inside a host call), and stops
/// the server if it has.
async fn watch_audit(service: Arc<Service>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if let Err(e) = service.session.audit.check() {
            eprintln!("{e}; stopping the server");
            let _ = service.stop.send(true);
            return;
        }
    }
}

impl crate::Runtime {
    /// Serves a composition exporting `wasi:http/incoming-handler` on `options.addr` until
    /// the process ends (or SIGINT or SIGTERM, with `options.stop_on_signals`); see
    /// [`serve_with`], which also takes a shutdown signal. Blocks the calling thread.
    ///
    /// This runtime's engine is not used: serving needs the pooling allocator, so an engine
    /// configured for it is made from the plan's policy.
    pub fn serve(
        &self,
        plan: &Plan,
        component: &[u8],
        host: &HostPolicy,
        options: &ServeOptions,
        ready: impl FnOnce(SocketAddr) + Send,
    ) -> Result<(), ExecError> {
        let (_handle, signal) = shutdown_channel();
        serve_with(plan, component, host, options, ready, signal)
    }
}

/// A handle to shut a server down, and the receiver side to pass to [`serve_with`].
pub fn shutdown_channel() -> (ShutdownHandle, ShutdownSignal) {
    let (tx, rx) = watch::channel(false);
    (ShutdownHandle(tx.clone()), ShutdownSignal(tx, rx))
}

/// The receiving side of [`shutdown_channel`].
pub struct ShutdownSignal(watch::Sender<bool>, watch::Receiver<bool>);

/// Serves a composition exporting `wasi:http/incoming-handler` on `options.addr` until
/// `signal`'s handle (or SIGINT or SIGTERM, with `options.stop_on_signals`) asks it to stop;
/// then stops accepting and lets in-flight requests finish within `options.shutdown_timeout`.
/// `ready` is called with the bound address once the server accepts connections.
///
/// Blocks the calling thread on an async runtime of its own. Inside an async runtime, use
/// [`serve_async`] instead: this refuses to block there (`E0510`) rather than panic.
pub fn serve_with(
    plan: &Plan,
    component: &[u8],
    host: &HostPolicy,
    options: &ServeOptions,
    ready: impl FnOnce(SocketAddr) + Send,
    signal: ShutdownSignal,
) -> Result<(), ExecError> {
    let load = |runtime: &crate::Runtime| Ok(runtime.compile(component)?.0);
    let known = Known::Bytes(component);
    serve_loaded_with(plan, host, known, options, ready, signal, load)
}

/// [`serve_with`] of a component that `load` prepares for the serving engine (from code
/// precompiled into the binary, say).
pub(crate) fn serve_loaded_with(
    plan: &Plan,
    host: &HostPolicy,
    known: Known<'_>,
    options: &ServeOptions,
    ready: impl FnOnce(SocketAddr) + Send,
    signal: ShutdownSignal,
    load: impl FnOnce(&crate::Runtime) -> Result<Component, ExecError>,
) -> Result<(), ExecError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ExecError::new(
            Code::ExecHostIo,
            "`serve_with` blocks its thread, and this thread runs an async runtime; call `serve_async` from async code instead",
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| io_error("cannot start the async runtime", e))?;
    rt.block_on(serve_loaded(
        plan, host, known, options, ready, signal, load,
    ))
}

/// [`serve_with`] on the caller's async runtime (Tokio's): resolves when the server has shut
/// down. Compiling the component at the start blocks the current task for as long as that
/// takes.
pub async fn serve_async(
    plan: &Plan,
    component: &[u8],
    host: &HostPolicy,
    options: &ServeOptions,
    ready: impl FnOnce(SocketAddr) + Send,
    signal: ShutdownSignal,
) -> Result<(), ExecError> {
    let load = |runtime: &crate::Runtime| Ok(runtime.compile(component)?.0);
    let known = Known::Bytes(component);
    serve_loaded(plan, host, known, options, ready, signal, load).await
}

/// [`serve_async`] of a component that `load` prepares for the serving engine.
async fn serve_loaded(
    plan: &Plan,
    host: &HostPolicy,
    known: Known<'_>,
    options: &ServeOptions,
    ready: impl FnOnce(SocketAddr) + Send,
    signal: ShutdownSignal,
    load: impl FnOnce(&crate::Runtime) -> Result<Component, ExecError>,
) -> Result<(), ExecError> {
    let ShutdownSignal(stop_tx, stop_rx) = signal;
    // A request never reads the server's standard input, whatever the plan grants.
    let mut host = host.clone();
    host.serving = true;
    let session = Session::new(plan, &host, Mode::Serve, known)?;
    let pool = plan
        .policy
        .concurrency
        .map_or(options.pool_size, |c| u32::try_from(c).unwrap_or(u32::MAX));
    let loaded = serve_engine(plan, pool)
        .and_then(|engine| crate::Runtime::from_engine(engine, &plan.policy))
        .and_then(|runtime| {
            let component = load(&runtime)?;
            let pre = prepare(&runtime, &session, &component)?;
            Ok((runtime, pre))
        });
    let (runtime, pre) = loaded.map_err(|e| session.failed("serve.failed", e))?;
    session.start("serve.start")?;
    let service = Arc::new(Service {
        pre,
        session,
        next_id: AtomicU64::new(1),
        stop: stop_tx.clone(),
        in_flight: Arc::default(),
    });
    if service.session.audit.is_on() {
        tokio::spawn(watch_audit(service.clone(), stop_rx.clone()));
    }
    let served = accept_loop(service.clone(), options, ready, stop_tx, stop_rx).await;
    // Guest tasks still running after their connections closed: let them end (they may
    // still record), up to the shutdown timeout, before the stop record.
    let deadline = tokio::time::Instant::now() + options.shutdown_timeout;
    while service.in_flight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outcome = match &served {
        Ok(()) => "stopped".to_owned(),
        Err(e) => e.code.as_str().to_owned(),
    };
    service.session.audit.stop("serve.stop", &outcome)?;
    // `runtime` (and its epoch ticker) lives until every request is done.
    drop(runtime);
    served
}

fn io_error(what: &str, e: std::io::Error) -> ExecError {
    ExecError::new(Code::ExecHostIo, format!("{what}: {e}"))
}

fn prepare(
    runtime: &crate::Runtime,
    session: &Session,
    component: &Component,
) -> Result<ProxyPre<HostState>, ExecError> {
    let fail = |what: &str, e: wasmtime::Error| {
        ExecError::new(Code::ExecInvalidComponent, format!("{what}: {e:#}"))
    };
    let linker = crate::host::linker(
        runtime.engine(),
        &session.plan,
        component,
        &session.allowed,
        Mode::Serve,
    )?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| fail("cannot pre-instantiate the composition", e))?;
    ProxyPre::new(pre).map_err(|e| {
        fail(
            "the composition does not export `wasi:http/incoming-handler`, which `exec serve` needs",
            e,
        )
    })
}

async fn accept_loop(
    service: Arc<Service>,
    options: &ServeOptions,
    ready: impl FnOnce(SocketAddr) + Send,
    stop_tx: watch::Sender<bool>,
    mut stop_rx: watch::Receiver<bool>,
) -> Result<(), ExecError> {
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|e| io_error(&format!("cannot listen on {}", options.addr), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| io_error("cannot read the bound address", e))?;
    // SIGINT and SIGTERM ask for a graceful shutdown, when the caller wants that.
    let signals = stop_tx.clone();
    let listen = options.stop_on_signals;
    tokio::spawn(async move {
        if !listen {
            return;
        }
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        let _ = signals.send(true);
    });
    ready(local);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop_rx.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = service.clone();
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let conn = http1::Builder::new().keep_alive(true).serve_connection(
                        TokioIo::new(stream),
                        hyper::service::service_fn(move |req| {
                            let service = service.clone();
                            async move { Ok::<_, Infallible>(handle(service, req).await) }
                        }),
                    );
                    let mut conn = std::pin::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    eprintln!(
        "shutting down: waiting up to {} ms for {} connection(s)",
        options.shutdown_timeout.as_millis(),
        connections.len()
    );
    let drained = tokio::time::timeout(options.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!("shutdown timeout passed; closing the remaining connections");
        connections.abort_all();
    }
    Ok(())
}

/// Serves one request in a fresh instance; a failure is a 500 naming the request id, logged
/// with the reason.
async fn handle(
    service: Arc<Service>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<HyperOutgoingBody> {
    let id = service.next_id.fetch_add(1, Ordering::Relaxed);
    match serve_one(&service, id, req).await {
        Ok(response) => response,
        Err((code, why)) => {
            eprintln!("request {id}: {why}");
            let audit = &service.session.audit;
            let request = id.to_string();
            let recorded = audit.host(
                "request.failed",
                &[
                    ("request", &request),
                    ("code", code.map_or("", |c| c.as_str())),
                ],
            );
            if recorded.and_then(|()| audit.check()).is_err() {
                // The plan requires its audit log, and it failed: stop serving.
                let _ = service.stop.send(true);
            }
            let body = Full::new(Bytes::from(format!(
                "internal error (request {id}); the server log says why\n"
            )))
            .map_err(|e: Infallible| match e {})
            .boxed_unsync();
            let mut response = hyper::Response::new(body);
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

/// Why a request failed: the code of a trap or limit, or of the host's failure, and the message.
type Failed = (Option<Code>, String);

async fn serve_one(
    service: &Service,
    id: u64,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<HyperOutgoingBody>, Failed> {
    let session = &service.session;
    let mut store = session
        .store(service.pre.engine(), &[], id)
        .map_err(|e| (Some(e.code), e.message))?;
    let host = |e: String| (None, e);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let incoming = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)
        .map_err(|e| host(format!("cannot pass the request in: {e:#}")))?;
    let out = store
        .data_mut()
        .http()
        .new_response_outparam(sender)
        .map_err(|e| host(format!("cannot prepare the response: {e:#}")))?;
    let pre = service.pre.clone();
    let policy = session.plan.policy.clone();
    let running = InFlight::new(&service.in_flight);
    let deadline = store.data().deadline;
    let task = tokio::task::spawn(async move {
        let _running = running;
        let call = async {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, out)
                .await
        };
        // The epoch deadline stops guest code; a guest waiting in a host call (a timer, an
        // outgoing request, the request body) is stopped by dropping its call here, which
        // cancels the wait.
        let result = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, call)
                .await
                .unwrap_or_else(|_| {
                    Err(wasmtime::Error::from(wasmtime::Trap::Interrupt)
                        .context("the request's call was cancelled at its deadline"))
                }),
            None => call.await,
        };
        result.map_err(|e| {
            let e = crate::run::classify(&e, store.data().limits.hit.as_deref(), &policy);
            (Some(e.code), e.to_string())
        })
    });
    match receiver.await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(code)) => Err(host(format!(
            "the component answered with an error: {code:?}"
        ))),
        Err(_) => match task.await {
            Ok(Ok(())) => Err(host(
                "the component returned without setting a response".into(),
            )),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(host(format!("the request's task failed: {e}"))),
        },
    }
}
