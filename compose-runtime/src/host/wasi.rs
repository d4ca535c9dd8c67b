//! Building the WASI context for a run from what it is allowed: deny-by-default.

use std::net::SocketAddr;
use std::time::Duration;

use compose_model::plan::Mode;
use wasmtime_wasi::cli::AsyncStdoutStream;
use wasmtime_wasi::random::Deterministic;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

use crate::{Effective, ExecError};

/// A wall clock stuck at the Unix epoch.
struct FixedWall;

impl HostWallClock for FixedWall {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock that advances one nanosecond per reading: deterministic, and a guest that
/// waits on it still makes progress (its deadline still applies).
struct CountingMonotonic(std::sync::atomic::AtomicU64);

impl HostMonotonicClock for CountingMonotonic {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A fixed byte stream derived from `seed`: the same for every run with the same seed.
fn deterministic(seed: &[u8]) -> Deterministic {
    let mut bytes = Vec::with_capacity(32 * 64);
    for i in 0u8..64 {
        let mut input = seed.to_vec();
        input.push(i);
        bytes.extend_from_slice(compose_model::Digest::of(&input).as_bytes());
    }
    Deterministic::new(bytes)
}

/// How many bytes a guest may hand an output stream before it waits for them to be written,
/// when writes go through a task (`bounded` below).
const OUTPUT_BUDGET: usize = 64 << 10;

/// The WASI context: stdio, args, env, preopens and sockets only as allowed; real clocks and
/// randomness only when allowed and determinism is not required.
///
/// `bounded`: the run has a deadline. wasmtime-wasi's inherited stdout and stderr write with a
/// blocking `write` inside the host call, which nothing can cut short (a pipe nobody reads
/// holds the guest for as long as it likes); under a deadline they are written by a task of the
/// current Tokio runtime instead, and the guest waits for it in `wasi:io` (a wait `io.rs`, or a
/// server's dropped call, ends at the deadline).
pub(crate) fn context(
    e: &Effective,
    args: &[String],
    program: &str,
    deterministic_run: bool,
    seed: &[u8],
    bounded: bool,
) -> Result<WasiCtx, ExecError> {
    let mut b = WasiCtxBuilder::new();
    // Each stream only as granted: a guest allowed to print cannot read what is piped in.
    if e.stdin {
        b.inherit_stdin();
    }
    if e.stdout {
        match bounded {
            true => b.stdout(AsyncStdoutStream::new(OUTPUT_BUDGET, tokio::io::stdout())),
            false => b.inherit_stdout(),
        };
    }
    if e.stderr {
        match bounded {
            true => b.stderr(AsyncStdoutStream::new(OUTPUT_BUDGET, tokio::io::stderr())),
            false => b.inherit_stderr(),
        };
    }
    if e.args {
        let mut all = vec![program.to_owned()];
        all.extend_from_slice(args);
        b.args(&all);
    } else {
        b.args(&[program]);
    }
    for name in &e.env {
        if let Ok(v) = std::env::var(name) {
            b.env(name, v);
        }
    }
    for d in &e.dirs {
        let perms = if d.mode == Mode::Rw {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        b.preopened_dir(&d.host, &d.guest, perms).map_err(|err| {
            ExecError::new(
                compose_model::Code::ExecCapabilityRefused,
                format!("cannot preopen `{}` as `{}`: {err:#}; create the directory or fix `grants.dirs`", d.host, d.guest),
            )
        })?;
    }
    let allowed: Vec<String> = e.network.clone();
    b.allow_tcp(!allowed.is_empty());
    b.allow_udp(!allowed.is_empty());
    b.allow_ip_name_lookup(false);
    b.socket_addr_check(move |addr: SocketAddr, used: SocketAddrUse| {
        // An outgoing connection first asks to bind an ephemeral port on any address; that is
        // allowed (listening on it is checked separately). Everything else must be listed.
        let ephemeral = matches!(used, SocketAddrUse::TcpBind | SocketAddrUse::UdpBind)
            && addr.ip().is_unspecified()
            && addr.port() == 0;
        let listed = allowed
            .iter()
            .any(|a| a == &addr.to_string() || a == &addr.ip().to_string());
        let ok = !allowed.is_empty() && (ephemeral || listed);
        Box::pin(async move { ok })
    });
    if !e.clocks || deterministic_run {
        b.wall_clock(FixedWall);
        b.monotonic_clock(CountingMonotonic(std::sync::atomic::AtomicU64::new(0)));
    }
    if !e.random || deterministic_run {
        b.secure_random(deterministic(seed));
        b.insecure_random(deterministic(&[seed, b"insecure"].concat()));
        b.insecure_random_seed(u128::from_le_bytes(
            compose_model::Digest::of(seed).as_bytes()[..16]
                .try_into()
                .expect("16 bytes"),
        ));
    }
    Ok(b.build())
}
