//! What the audit log costs a server: `composectl exec serve` of router → greeter under wrk
//! without a log, with a log of the host's records only, and with a greeter that appends one
//! `std:audit` record per request (router → audited-greeter), against `wasmtime serve` of the
//! unaudited composition, in one run, the servers taking turns (medians of 5 rounds of 10 s).
//! The audited server's log is verified afterwards. Also what signed provenance adds to a cold
//! `emit build` (`--provenance FILE --sign-key KEY`, a software P-256 key), interleaved rounds.
//! `cargo xtask bench-audit` (needs wrk); writes `bench/results/audit.json` and the `audit`
//! section of bench/README.md.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::bench_compare::{median, serve_with, stop, wrk};
use crate::peers::{self, WASMTIME};
use crate::util::{self, cargo, root, target_dir};

const ROUNDS: usize = 5;
/// Cold emit rounds, with and without provenance, in turns.
const EMIT_RUNS: usize = 31;

/// Median cold `emit build` of the two-component example without and with signed provenance.
fn provenance(
    bin: &std::path::Path,
    dir: &std::path::Path,
    guests: &std::path::Path,
) -> Result<(f64, f64)> {
    let plan = dir.join("hello.toml");
    std::fs::write(&plan, util::hello_plan(guests, "stdio"))?;
    let key = dir.join("release.key");
    let made = Command::new(bin)
        .args(["trust", "keygen", "-o"])
        .arg(&key)
        .output()?;
    if !made.status.success() {
        bail!(
            "trust keygen failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let emit = |signed: bool| {
        let (bin, plan, key, dir) = (bin.to_owned(), plan.clone(), key.clone(), dir.to_owned());
        move || {
            let mut c = Command::new(&bin);
            c.args(["emit", "build"])
                .arg(&plan)
                .arg("-o")
                .arg(dir.join("hello.wasm"))
                .arg("--no-cache")
                .arg("--cache-dir")
                .arg(dir.join("emit-cache"));
            if signed {
                c.arg("--provenance")
                    .arg(dir.join("hello.provenance.json"))
                    .arg("--sign-key")
                    .arg(&key);
            }
            c
        }
    };
    let times = util::time_rounds(
        EMIT_RUNS,
        &[
            ("emit build --no-cache", &emit(false)),
            ("emit build --no-cache --provenance --sign-key", &emit(true)),
        ],
    )?;
    Ok((util::ms(times[0]), util::ms(times[1])))
}

/// The HTTP example's plan over the built guests, with `greeter` as its greeter and `extra`
/// appended to the greeter's table and to the plan.
fn plan(guests: &std::path::Path, greeter: &str, greeter_extra: &str, extra: &str) -> String {
    let wasm = |n: &str| guests.join(format!("{n}.wasm")).display().to_string();
    format!(
        "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n{greeter_extra}\n[components.router]\npath = {:?}\nexports = [\"wasi:http/incoming-handler\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\n[exports]\n\"wasi:http/incoming-handler\" = \"router\"\n[policy]\nmemory = 16777216\ntimeout-ms = 1000\nconcurrency = 256\n{extra}",
        wasm(greeter),
        wasm("http_router"),
    )
}

pub fn run() -> Result<()> {
    let wasmtime = peers::ensure(&WASMTIME)?;
    let mut build = cargo();
    build.args(["build", "--release", "--package", "composectl"]);
    util::run(build)?;
    let bin = target_dir().join("release/composectl");
    let guests = util::build_example_guests()?;

    let work = tempfile::tempdir()?;
    let dir = work.path();
    let log_extra = "[observability]\naudit = \"file:audit.log\"\n";
    let plans = [
        ("off", plan(&guests, "greeter", "", "")),
        ("host", plan(&guests, "greeter", "", log_extra)),
        (
            "guest",
            plan(
                &guests,
                "audited_greeter",
                "imports = { \"std:audit/log\" = { host = \"audit\" } }\ncapabilities = { audit = \"required\" }",
                &format!("[grants]\naudit = true\n{log_extra}"),
            ),
        ),
    ];
    for (name, text) in &plans {
        std::fs::create_dir_all(dir.join(name))?;
        std::fs::write(dir.join(name).join("plan.toml"), text)?;
    }
    let key = dir.join("audit.key");
    let made = Command::new(&bin)
        .args(["audit", "keygen", "-o"])
        .arg(&key)
        .output()?;
    if !made.status.success() {
        bail!(
            "audit keygen failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    // The unaudited composition, for `wasmtime serve`.
    let component = dir.join("off.wasm");
    let emitted = Command::new(&bin)
        .args(["emit", "build"])
        .arg(dir.join("off/plan.toml"))
        .arg("-o")
        .arg(&component)
        .stderr(Stdio::inherit())
        .status()?;
    if !emitted.success() {
        bail!("emit build failed");
    }

    let key_arg = key.display().to_string();
    let mut rounds: Vec<(&str, Vec<f64>)> = vec![
        ("off", Vec::new()),
        ("host", Vec::new()),
        ("guest", Vec::new()),
        ("wasmtime", Vec::new()),
    ];
    for _ in 0..ROUNDS {
        for (name, out) in rounds.iter_mut() {
            let (child, addr) = if *name == "wasmtime" {
                let addr = format!(
                    "127.0.0.1:{}",
                    std::net::TcpListener::bind("127.0.0.1:0")?
                        .local_addr()?
                        .port()
                );
                let child = Command::new(&wasmtime)
                    .args(["serve", "-S", "cli=y", "--addr", &addr])
                    .arg(&component)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                for _ in 0..600 {
                    if std::net::TcpStream::connect(&addr).is_ok() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                (child, addr)
            } else {
                let plan = dir.join(&name).join("plan.toml");
                let extra: &[&str] = if *name == "off" {
                    &[]
                } else {
                    &["--audit-key", &key_arg]
                };
                serve_with(&bin, &plan, &dir.join("cache"), extra)?
            };
            let _ = Command::new("wrk")
                .args(["-t2", "-c8", "-d2s", &format!("http://{addr}/hello/World")])
                .output();
            let r = wrk(&addr);
            stop(child);
            out.push(r.with_context(|| format!("serving {name}"))?);
        }
    }
    // The guest-audited server's log: it verifies, and holds a record per greeting.
    let verified = Command::new(&bin)
        .args(["audit", "verify"])
        .arg(dir.join("guest/audit.log"))
        .arg("--key")
        .arg(format!("{key_arg}.pub"))
        .arg("--json")
        .output()?;
    let verified: serde_json::Value =
        serde_json::from_slice(&verified.stdout).context("audit verify printed no JSON")?;
    if verified["verified"] != true {
        bail!("the audited server's log does not verify: {verified}");
    }
    let log_bytes = std::fs::metadata(dir.join("guest/audit.log"))?.len();

    let (emit_plain, emit_signed) = provenance(&bin, dir, &guests)?;
    let m: Vec<f64> = rounds.iter().map(|(_, v)| median(v.clone())).collect();
    let (off, host, guest, peer) = (m[0], m[1], m[2], m[3]);
    let doc = json!({
        "benchmark": "audit",
        "what": format!("`composectl exec serve` (release) of router → greeter under `wrk -t2 -c64 -d10s` GET /hello/World: without an audit log, with a log of host records only, and with router → audited-greeter appending one std:audit record per request; against `wasmtime serve -S cli=y` (50.0.1) of the unaudited composition; {ROUNDS} rounds each, taking turns, medians; client and servers share the machine's 2 cores"),
        "requests_per_s": {
            "audit_off": off,
            "audit_host_records": host,
            "audit_guest_record_per_request": guest,
            "wasmtime_serve": peer,
        },
        "rounds": rounds.iter().map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "ratios": {
            "host_records_vs_off": host / off,
            "guest_record_per_request_vs_off": guest / off,
            "guest_record_per_request_vs_wasmtime": guest / peer,
            "off_vs_wasmtime": off / peer,
        },
        "guest_log": { "records": verified["size"], "guest_records": verified["guest_records"], "bytes": log_bytes },
        "provenance": {
            "what": format!("cold `composectl emit build --no-cache` of app → greeter, without and with `--provenance FILE --sign-key KEY` (software P-256 key), {EMIT_RUNS} interleaved rounds after a warm-up, medians"),
            "emit_ms": emit_plain,
            "emit_with_signed_provenance_ms": emit_signed,
            "ratio": emit_signed / emit_plain,
        },
    });
    let out = root().join("bench/results/audit.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    let table = format!(
        "| server | req/s (median of {ROUNDS} × 10 s) | / no log | / `wasmtime serve` |\n|---|---|---|---|\n\
         | `exec serve`, no audit log | {off:.0} | 1.00× | {:.2}× |\n\
         | `exec serve`, host records only | {host:.0} | {:.3}× | {:.2}× |\n\
         | `exec serve`, a guest record per request | {guest:.0} | {:.3}× | {:.2}× |\n\
         | `wasmtime serve` (no audit) | {peer:.0} | | 1.00× |\n\n\
         Goals: with audit ≥ 0.95× the req/s without, and ≥ 1.5× `wasmtime serve`. The audited log \
         held {} records ({} from the guest, {log_bytes} bytes) and verified.\n\n\
         | cold `emit build` (median of {EMIT_RUNS}) | ms | / without |\n|---|---|---|\n\
         | without provenance | {emit_plain:.1} | 1.00× |\n\
         | with signed provenance (software key) | {emit_signed:.1} | {:.3}× |\n\n\
         Goal: signed provenance adds ≤ 5% to a cold emit.\n",
        off / peer,
        host / off,
        host / peer,
        guest / off,
        guest / peer,
        verified["size"],
        verified["guest_records"],
        emit_signed / emit_plain,
    );
    crate::bench::replace_section(&root().join("bench/README.md"), "audit", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}
