//! Load on loopback: `wrk` (64 connections, 30 s) against the release `hello-http` binary
//! (router → greeter composed with `compose!`, policy checks on) and against `wasmtime serve`
//! (wasmtime-cli 50.0.1) running the very component the binary embeds, in one run. Records
//! requests/s, p50/p99 latency, errors, and each server's resident memory before and after.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::peers::{self, WASMTIME};
use crate::util::{self, cargo, embedded_component, root, target_dir};

const DURATION: &str = "30s";
const CONNECTIONS: &str = "64";

/// A free port on 127.0.0.1.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

fn wait_until_listening(addr: &str) -> Result<()> {
    for _ in 0..600 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listens on {addr}")
}

/// Parses wrk's `--latency` report into req/s, p50 and p99 (ms) and the error count.
fn parse_wrk(text: &str) -> Result<Value> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()))
    };
    let ms = |v: &str| -> Option<f64> {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_alphabetic())?);
        let n: f64 = n.parse().ok()?;
        Some(match unit {
            "us" => n / 1e3,
            "ms" => n,
            "s" => n * 1e3,
            _ => return None,
        })
    };
    let rps: f64 = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context("no Requests/sec in wrk's output")?;
    let p50 = field("50%").and_then(|v| ms(&v)).context("no p50")?;
    let p99 = field("99%").and_then(|v| ms(&v)).context("no p99")?;
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = field("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(
        json!({ "requests_per_s": rps, "p50_ms": p50, "p99_ms": p99, "errors": non_2xx + socket_errors }),
    )
}

/// Loads a running server with wrk and returns its figures plus memory before and after.
fn load(name: &str, child: &mut Child, addr: &str) -> Result<Value> {
    wait_until_listening(addr)?;
    // Warm up, then measure.
    let _ = Command::new("wrk")
        .args(["-t2", "-c8", "-d3s", &format!("http://{addr}/hello/World")])
        .output();
    let before = rss_kib(child.id())?;
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{DURATION}"),
            "--latency",
            &format!("http://{addr}/hello/World"),
        ])
        .output()
        .context("failed to run wrk (apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{name}:\n{text}");
    let after = rss_kib(child.id())?;
    let mut v = parse_wrk(&text)?;
    v["rss_kib_before"] = json!(before);
    v["rss_kib_after"] = json!(after);
    Ok(v)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

pub fn run() -> Result<()> {
    let wasmtime = peers::ensure(&WASMTIME)?;
    let mut build = cargo();
    build.args(["build", "--release", "--package", "hello-http"]);
    util::run(build)?;
    let bin = target_dir().join("release/hello-http");
    let component = embedded_component(&bin)?;

    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut ours = Command::new(&bin)
        .arg(&addr)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = ours.stderr.take();
    std::thread::spawn(move || {
        // Drain the log so the server never blocks on it.
        if let Some(s) = stderr {
            for _ in BufReader::new(s).lines() {}
        }
    });
    let ours_figures = load("hello-http (compose!)", &mut ours, &addr);
    stop(ours);
    let ours_figures = ours_figures?;

    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut peer = Command::new(&wasmtime)
        .args(["serve", "-S", "cli=y", "--addr", &addr])
        .arg(&component)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let peer_figures = load("wasmtime serve", &mut peer, &addr);
    stop(peer);
    let peer_figures = peer_figures?;

    let ratio = ours_figures["requests_per_s"].as_f64().unwrap_or(0.0)
        / peer_figures["requests_per_s"].as_f64().unwrap_or(1.0);
    let doc = json!({
        "benchmark": "serve",
        "what": format!("wrk -t2 -c{CONNECTIONS} -d{DURATION} --latency GET /hello/World on loopback; hello-http release binary (policy: 16 MiB memory, 1 s deadline per request, deny-by-default) vs wasmtime-cli 50.0.1 `serve -S cli=y` of the same composed component; client and server share the machine"),
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "hello_http": ours_figures,
        "wasmtime_serve": peer_figures,
        "ratio_requests_per_s": ratio,
    });
    let out = root().join("bench/results/serve.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    let row = |name: &str, v: &Value| {
        format!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.1} → {:.1} MiB |\n",
            v["requests_per_s"].as_f64().unwrap_or(0.0),
            v["p50_ms"].as_f64().unwrap_or(0.0),
            v["p99_ms"].as_f64().unwrap_or(0.0),
            v["errors"],
            v["rss_kib_before"].as_f64().unwrap_or(0.0) / 1024.0,
            v["rss_kib_after"].as_f64().unwrap_or(0.0) / 1024.0,
        )
    };
    let table = format!(
        "| server | req/s | p50 | p99 | errors | memory before → after |\n|---|---|---|---|---|---|\n{}{}\n\
         `hello-http` / `wasmtime serve`: **{ratio:.2}×** requests/s (goal ≥ 1.0×).\n",
        row("`hello-http` (compose!, policy on)", &doc["hello_http"]),
        row("`wasmtime serve`", &doc["wasmtime_serve"]),
    );
    crate::bench::replace_section(&root().join("bench/README.md"), "serve", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}
