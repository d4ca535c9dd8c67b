//! What signatures cost: `cargo xtask bench-trust`.
//!
//! - In-process (criterion, `compose-trust/benches/verify.rs`): the bare digest check of a
//!   100 KB component, a keyed bundle over it, a DSSE composition statement, and a real
//!   keyless cosign bundle against Sigstore's public-good root.
//! - Whole commands, interleaved rounds: `composectl trust verify` with a key and keyless, next
//!   to `sha256sum` (the bare digest check as a command); and the goal, a warm `exec run` of
//!   the signed two-component example with `--require-signature --trust-key` against the same
//!   run without.
//!
//! cosign cannot be installed on these machines (no Go toolchain or release binaries reach
//! them), so it is not in the run. Writes `bench/results/trust.json`; the table in
//! bench/README.md is written from it by hand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use crate::util::{self, cargo, ms, root, target_dir};

const RUNS: usize = 41;

fn registry_crate(name: &str) -> Result<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("no CARGO_HOME or HOME")?;
    std::fs::read_dir(home.join("registry/src"))?
        .flatten()
        .map(|i| i.path().join(name))
        .find(|p| p.is_dir())
        .with_context(|| format!("{name} is not unpacked: build compose-trust first"))
}

/// Median times (ns) of the criterion group `trust`, by benchmark name.
fn criterion_results() -> Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    let dir = target_dir().join("criterion/trust");
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        let (Ok(meta), Ok(est)) = (
            std::fs::read_to_string(path.join("new/benchmark.json")),
            std::fs::read_to_string(path.join("new/estimates.json")),
        ) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&meta)?;
        let est: serde_json::Value = serde_json::from_str(&est)?;
        let name = meta["function_id"].as_str().unwrap_or_default().to_owned();
        out.push((
            name,
            est["median"]["point_estimate"].as_f64().unwrap_or(0.0),
        ));
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(out)
}

pub fn run() -> Result<()> {
    let mut bench = cargo();
    bench.args([
        "bench",
        "-p",
        "compose-trust",
        "--bench",
        "verify",
        "--",
        "--noplot",
    ]);
    util::run(bench)?;
    let in_process = criterion_results()?;

    let mut build = cargo();
    build.args(["build", "--release", "--package", "composectl"]);
    util::run(build)?;
    let guests = util::build_example_guests()?;
    let work = tempfile::tempdir()?;
    let dir = work.path();
    // Fresh copies of both binaries timed (`util::fresh_copies`: a binary written long ago
    // starts slower here than a fresh copy of the same bytes).
    let sha256sum =
        crate::peers::find("sha256sum").context("`sha256sum` (coreutils) is not on PATH")?;
    let [composectl, sha256sum] =
        util::fresh_copies(dir, [&target_dir().join("release/composectl"), &sha256sum])?;
    let c = |args: &[&str]| -> Result<()> {
        let o = Command::new(&composectl)
            .args(args)
            .current_dir(dir)
            .output()?;
        anyhow::ensure!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Ok(())
    };
    c(&["trust", "keygen", "-o", "k"])?;
    let component: Vec<u8> = (0..100 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.join("c100k.wasm"), &component)?;
    c(&["trust", "sign", "c100k.wasm", "--key", "k"])?;
    let plan = dir.join("hello.toml");
    std::fs::write(&plan, util::hello_plan(&guests, "stdout"))?;
    let cache = dir.join("cache");
    let cache_arg = cache.display().to_string();
    c(&[
        "emit",
        "build",
        "hello.toml",
        "-o",
        "hello.wasm",
        "--sign-key",
        "k",
        "--cache-dir",
        &cache_arg,
    ])?;

    let assets = registry_crate("sigstore-verify-0.15.1")?.join("test_data/bundles");
    let root_file = registry_crate("sigstore-trust-root-0.15.1")?.join("src/trusted_root.json");
    let cmd = |args: Vec<String>| {
        let (bin, dir) = (composectl.clone(), dir.to_path_buf());
        move || {
            let mut c = Command::new(&bin);
            c.args(&args).current_dir(&dir);
            c
        }
    };
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let p = |p: &Path| p.display().to_string();
    let sha = {
        let dir = dir.to_path_buf();
        move || {
            let mut c = Command::new(&sha256sum);
            c.arg("c100k.wasm").current_dir(&dir);
            c
        }
    };
    let keyed = cmd(s(&["trust", "verify", "c100k.wasm", "--key", "k.pub"]));
    let keyless = cmd(vec![
        "trust".into(),
        "verify".into(),
        p(&assets.join("cosign-v3-blob.txt")),
        "--bundle".into(),
        p(&assets.join("cosign-v3-blob.sigstore.json")),
        "--certificate-identity".into(),
        "w.vollprecht@gmail.com".into(),
        "--certificate-oidc-issuer".into(),
        "https://github.com/login/oauth".into(),
        "--trusted-root".into(),
        p(&root_file),
    ]);
    let run_args = |signed: bool| {
        let mut a = s(&[
            "exec",
            "run",
            "hello.wasm",
            "--plan",
            "hello.toml",
            "--cache-dir",
        ]);
        a.push(cache_arg.clone());
        if signed {
            a.extend(s(&["--require-signature", "--trust-key", "k.pub"]));
        }
        a.extend(s(&["--", "World"]));
        a
    };
    let plain = cmd(run_args(false));
    let checked = cmd(run_args(true));
    let times: Vec<Duration> = util::time_rounds(
        RUNS,
        &[
            ("sha256sum", &sha),
            ("trust verify (key)", &keyed),
            ("trust verify (keyless)", &keyless),
            ("exec run (warm)", &plain),
            ("exec run --require-signature (warm)", &checked),
        ],
    )?;
    let ratio = times[4].as_secs_f64() / times[3].as_secs_f64();
    let report = json!({
        "in_process_ns": in_process.iter().map(|(n, t)| json!({"name": n, "median_ns": t})).collect::<Vec<_>>(),
        "commands_ms": {
            "sha256sum 100 KB": ms(times[0]),
            "composectl trust verify 100 KB, key": ms(times[1]),
            "composectl trust verify keyless (cosign bundle, public-good root)": ms(times[2]),
            "exec run warm": ms(times[3]),
            "exec run warm --require-signature": ms(times[4]),
        },
        "exec_run_signature_ratio": ratio,
        "goal": "exec run with --require-signature within 1.05x of without",
        "rounds": RUNS,
        "peer": "cosign is not installable on these machines; not in the run",
    });
    let out = root().join("bench/results/trust.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    println!("wrote {}", out.display());
    Ok(())
}
