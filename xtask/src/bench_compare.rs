//! Two builds of `composectl` against each other in one run, to show that a change costs
//! nothing measurable: a warm `exec run` (compiled code cached) of the two-component example,
//! timed in interleaved rounds, and `exec serve` of the HTTP example under wrk, the two servers
//! taking turns. `cargo xtask bench-compare BASE NEW` with the paths of the two binaries (built
//! alike: same profile, same machine); writes `bench/results/compare.json` and the `compare`
//! section of bench/README.md.
//!
//! The plans use only what both builds read (`stdio`, not the separate streams), and `path`
//! sources, so both run the very same component bytes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::util::{self, ms, root};

/// Warm `exec run` rounds (after one warm-up round).
const RUNS: usize = 41;
/// wrk rounds per server, taking turns.
const ROUNDS: usize = 3;
const WRK_SECONDS: &str = "10s";

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn free_addr() -> Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Ok(format!("127.0.0.1:{port}"))
}

/// Starts `composectl exec serve PLAN` and waits until it listens.
fn serve(bin: &Path, plan: &Path, cache: &Path) -> Result<(Child, String)> {
    serve_with(bin, plan, cache, &[])
}

/// Starts `composectl exec serve PLAN EXTRA…` and waits until it listens.
pub(crate) fn serve_with(
    bin: &Path,
    plan: &Path,
    cache: &Path,
    extra: &[&str],
) -> Result<(Child, String)> {
    let addr = free_addr()?;
    let mut child = Command::new(bin)
        .args(["exec", "serve"])
        .arg(plan)
        .args(extra)
        .args(["--addr", &addr, "--cache-dir"])
        .arg(cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to start `{}`", bin.display()))?;
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        if let Some(s) = stderr {
            for _ in BufReader::new(s).lines() {}
        }
    });
    for _ in 0..600 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Ok((child, addr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("`{}` does not listen on {addr}", bin.display())
}

/// Requests per second wrk measures on `addr`.
pub(crate) fn wrk(addr: &str) -> Result<f64> {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{WRK_SECONDS}")])
        .arg(format!("http://{addr}/hello/World"))
        .output()
        .context("failed to run wrk (apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk saw errors:\n{text}");
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no Requests/sec in wrk's output")
}

pub(crate) fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

pub fn run(base: &str, new: &str) -> Result<()> {
    let (base, new) = (PathBuf::from(base), PathBuf::from(new));
    for b in [&base, &new] {
        if !b.is_file() {
            bail!("`{}` is not a composectl binary", b.display());
        }
    }
    let guests = util::build_example_guests()?;
    let wasm = |n: &str| guests.join(format!("{n}.wasm")).display().to_string();

    let work = tempfile::tempdir()?;
    let dir = work.path();
    // Fresh copies of both builds (`util::fresh_copies`: a binary written long ago starts
    // slower here than a fresh copy of the same bytes), in folders of their own (both are
    // called `composectl`).
    let [base] = util::fresh_copies(&dir.join("base"), [&base])?;
    let [new] = util::fresh_copies(&dir.join("new"), [&new])?;
    let hello = dir.join("hello.toml");
    std::fs::write(
        &hello,
        format!(
            "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.app]\npath = {:?}\nexports = [\"wasi:cli/run\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\ncapabilities = {{ stdio = \"required\", args = \"required\" }}\n[exports]\n\"wasi:cli/run\" = \"app\"\n[grants]\nstdio = true\nargs = true\n",
            wasm("greeter"),
            wasm("app")
        ),
    )?;
    let http = dir.join("http.toml");
    std::fs::write(
        &http,
        format!(
            "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.router]\npath = {:?}\nexports = [\"wasi:http/incoming-handler\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\n[exports]\n\"wasi:http/incoming-handler\" = \"router\"\n[policy]\nmemory = 16777216\ntimeout-ms = 1000\nconcurrency = 256\n",
            wasm("greeter"),
            wasm("http_router")
        ),
    )?;

    // Warm exec: each build with its own cache (their cache keys differ), warmed by the first
    // round, then timed in turns.
    let exec = |bin: &Path, cache: PathBuf| {
        let (bin, plan) = (bin.to_owned(), hello.clone());
        move || {
            let mut c = Command::new(&bin);
            c.args(["exec", "run"])
                .arg(&plan)
                .args(["--", "World"])
                .env("COMPOSE_CACHE_DIR", &cache);
            c
        }
    };
    let (exec_base, exec_new) = (
        exec(&base, dir.join("cache-base")),
        exec(&new, dir.join("cache-new")),
    );
    let times = util::time_rounds(
        RUNS,
        &[("base exec run", &exec_base), ("new exec run", &exec_new)],
    )?;
    let (warm_base, warm_new) = (ms(times[0]), ms(times[1]));

    // Serve: the two servers take turns under wrk.
    let (mut rps_base, mut rps_new) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for (bin, cache, out) in [
            (&base, dir.join("cache-base"), &mut rps_base),
            (&new, dir.join("cache-new"), &mut rps_new),
        ] {
            let (child, addr) = serve(bin, &http, &cache)?;
            // A short warm-up, then the measured load.
            let _ = Command::new("wrk")
                .args(["-t2", "-c8", "-d2s", &format!("http://{addr}/hello/World")])
                .output();
            let r = wrk(&addr);
            stop(child);
            out.push(r?);
        }
    }
    let (serve_base, serve_new) = (median(rps_base.clone()), median(rps_new.clone()));

    let doc = json!({
        "benchmark": "compare",
        "what": format!("two composectl builds in one run: warm `exec run` of app → greeter ({RUNS} interleaved rounds after a warm-up, medians) and `exec serve` of router → greeter under `wrk -t2 -c64 -d{WRK_SECONDS}` ({ROUNDS} rounds each, taking turns, medians)"),
        "base": base.display().to_string(),
        "new": new.display().to_string(),
        "exec_run_warm_ms": { "base": warm_base, "new": warm_new, "ratio": warm_new / warm_base },
        "serve_requests_per_s": { "base": serve_base, "new": serve_new, "ratio": serve_new / serve_base, "rounds_base": rps_base, "rounds_new": rps_new },
    });
    let out = root().join("bench/results/compare.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    let table = format!(
        "| measure | base | new | new / base |\n|---|---|---|---|\n\
         | warm `exec run` (median of {RUNS}) | {warm_base:.2} ms | {warm_new:.2} ms | {:.3}× |\n\
         | `exec serve` req/s (median of {ROUNDS} × {WRK_SECONDS}) | {serve_base:.0} | {serve_new:.0} | {:.3}× |\n",
        warm_new / warm_base,
        serve_new / serve_base,
    );
    crate::bench::replace_section(&root().join("bench/README.md"), "compare", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}
