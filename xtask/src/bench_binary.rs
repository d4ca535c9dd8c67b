//! The self-contained `compose!` binary against its peers, in one run: start-to-exit of the
//! release `hello-cli` vs `wasmtime run` of the same composed component (no cache) and vs
//! `wasmtime run --allow-precompiled` of a `.cwasm` made by `wasmtime compile`; and what
//! `compose!` costs a build: a no-op `cargo build` of `hello-cli` with and without the macro
//! (its `bench-without-compose` feature), and the rebuild after touching one guest source.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};
use serde_json::json;

use crate::peers::{self, WASMTIME};
use crate::util::{self, cargo, embedded_component, ms, root, target_dir, time};

const RUNS: usize = 21;

fn cargo_build(args: &[&str]) -> Command {
    let mut c = cargo();
    c.args(["build", "--quiet", "--package", "hello-cli"])
        .args(args);
    c
}

pub fn run() -> Result<()> {
    let wasmtime = peers::ensure(&WASMTIME)?;
    util::run(cargo_build(&["--release"]))?;
    let bin = target_dir().join("release/hello-cli");
    let component = embedded_component(&bin)?;
    let work = tempfile::tempdir()?;
    let cwasm = work.path().join("hello.cwasm");
    let mut compile = Command::new(&wasmtime);
    compile.arg("compile").arg(&component).arg("-o").arg(&cwasm);
    util::run(compile)?;

    let check = Command::new(&bin).arg("World").output()?;
    if String::from_utf8_lossy(&check.stdout) != "Hello, World!\n" || !check.stderr.is_empty() {
        bail!(
            "hello-cli printed {:?} / {:?}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let ours = time("hello-cli (release)", RUNS, &|| {
        let mut c = Command::new(&bin);
        c.arg("World");
        c
    })?;
    let wt_cold = time("wasmtime run (no cache)", RUNS, &|| {
        let mut c = Command::new(&wasmtime);
        c.args(["run", "-C", "cache=n"])
            .arg(&component)
            .arg("World");
        c
    })?;
    let wt_pre = time("wasmtime run --allow-precompiled", RUNS, &|| {
        let mut c = Command::new(&wasmtime);
        c.args(["run", "--allow-precompiled"])
            .arg(&cwasm)
            .arg("World");
        c
    })?;

    // Build costs, in the dev profile a developer iterates in.
    util::run(cargo_build(&[]))?;
    util::run(cargo_build(&["--features", "bench-without-compose"]))?;
    let noop = time("no-op cargo build of hello-cli", 11, &|| cargo_build(&[]))?;
    let noop_plain = time("no-op cargo build without compose!", 11, &|| {
        cargo_build(&["--features", "bench-without-compose"])
    })?;
    let guest = root().join("examples/guests/greeter/src/lib.rs");
    let touch_rebuild = time("rebuild after touching a guest source", 5, &|| {
        touch(&guest);
        cargo_build(&[])
    })?;

    let doc = json!({
        "benchmark": "compose-binary",
        "what": "wall time, median of runs after a warm-up; release hello-cli (app → greeter, precompiled code embedded) vs wasmtime-cli 50.0.1 on the same composed component; dev-profile cargo builds",
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "start_to_exit_ms": { "hello_cli": ms(ours), "wasmtime_run_no_cache": ms(wt_cold), "wasmtime_run_precompiled": ms(wt_pre) },
        "build_ms": { "noop_with_compose": ms(noop), "noop_without_compose": ms(noop_plain), "rebuild_after_touching_a_guest": ms(touch_rebuild) },
        "ratios": {
            "vs_wasmtime_run_no_cache": ms(ours) / ms(wt_cold),
            "vs_wasmtime_run_precompiled": ms(ours) / ms(wt_pre),
        },
        "noop_extra_ms": ms(noop) - ms(noop_plain),
    });
    let out = root().join("bench/results/compose-binary.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    let table = format!(
        "| start to exit (prints `Hello, World!`) | time | `hello-cli` vs it | goal |\n|---|---|---|---|\n\
         | release `hello-cli` (embedded precompiled code) | {:.1} ms | | |\n\
         | `wasmtime run`, no cache | {:.1} ms | **{:.2}×** | ≤ 0.5× |\n\
         | `wasmtime run --allow-precompiled` of `wasmtime compile`'s `.cwasm` | {:.1} ms | **{:.2}×** | ≤ 1.0× |\n\n\
         | `cargo build -p hello-cli` (dev) | time | goal |\n|---|---|---|\n\
         | no-op, with `compose!` | {:.0} ms | |\n\
         | no-op, same crate without `compose!` | {:.0} ms | |\n\
         | what `compose!` adds to a no-op build | **{:+.0} ms** | ≤ 100 ms |\n\
         | rebuild after touching `greeter/src/lib.rs` | {:.0} ms | |\n",
        ms(ours),
        ms(wt_cold),
        ms(ours) / ms(wt_cold),
        ms(wt_pre),
        ms(ours) / ms(wt_pre),
        ms(noop),
        ms(noop_plain),
        ms(noop) - ms(noop_plain),
        ms(touch_rebuild),
    );
    crate::bench::replace_section(&root().join("bench/README.md"), "compose-binary", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}

/// Sets a file's modification time to now, without changing it.
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}
