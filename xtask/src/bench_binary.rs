//! The self-contained `compose!` binary against its peers, in one run: start-to-exit and peak
//! RSS of the release `hello-cli` (built alone, as a user builds it: no compiler linked) vs a
//! native Rust "hello" (the same crate without `compose!`, its `bench-without-compose`
//! feature), vs `wasmtime run` of the same composed component (no cache) and vs `wasmtime run
//! --allow-precompiled` of a `.cwasm` made by `wasmtime compile`, interleaved; its size on
//! disk; and what `compose!` costs a build: a no-op `cargo build` of `hello-cli` with and
//! without the macro, and the rebuild after touching one guest source.

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
    let work = tempfile::tempdir()?;
    // The native "hello" first: both builds write target/release/hello-cli.
    util::run(cargo_build(&[
        "--release",
        "--features",
        "bench-without-compose",
    ]))?;
    let native = work.path().join("native-hello");
    std::fs::copy(target_dir().join("release/hello-cli"), &native)?;
    util::run(cargo_build(&["--release"]))?;
    let built = target_dir().join("release/hello-cli");
    let size_mb = std::fs::metadata(&built)?.len() as f64 / 1e6;
    let component = embedded_component(&built)?;
    // Every binary timed is a fresh copy, as the native one is (`util::fresh_copies`).
    let [bin, wasmtime] = util::fresh_copies(work.path(), [&built, &wasmtime])?;
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
    let run_ours = || {
        let mut c = Command::new(&bin);
        c.arg("World");
        c
    };
    let run_native = || {
        let mut c = Command::new(&native);
        c.arg("World");
        c
    };
    let run_wt_cold = || {
        let mut c = Command::new(&wasmtime);
        c.args(["run", "-C", "cache=n"])
            .arg(&component)
            .arg("World");
        c
    };
    let run_wt_pre = || {
        let mut c = Command::new(&wasmtime);
        c.args(["run", "--allow-precompiled"])
            .arg(&cwasm)
            .arg("World");
        c
    };
    let timed = util::time_rounds(
        RUNS,
        &[
            ("hello-cli (release)", &run_ours),
            ("native hello", &run_native),
            ("wasmtime run (no cache)", &run_wt_cold),
            ("wasmtime run --allow-precompiled", &run_wt_pre),
        ],
    )?;
    let [ours, native_t, wt_cold, wt_pre] = timed[..] else {
        bail!("expected four timings");
    };
    let rss_ours = peak_rss_kb(&run_ours)?;
    let rss_native = peak_rss_kb(&run_native)?;
    let rss_wt_pre = peak_rss_kb(&run_wt_pre)?;

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
        "start_to_exit_ms": { "hello_cli": ms(ours), "native_hello": ms(native_t), "wasmtime_run_no_cache": ms(wt_cold), "wasmtime_run_precompiled": ms(wt_pre) },
        "peak_rss_kb": { "hello_cli": rss_ours, "native_hello": rss_native, "wasmtime_run_precompiled": rss_wt_pre },
        "hello_cli_size_mb": size_mb,
        "build_ms": { "noop_with_compose": ms(noop), "noop_without_compose": ms(noop_plain), "rebuild_after_touching_a_guest": ms(touch_rebuild) },
        "ratios": {
            "vs_native_hello": ms(ours) / ms(native_t),
            "rss_vs_wasmtime_run_precompiled": rss_ours as f64 / rss_wt_pre as f64,
            "vs_wasmtime_run_no_cache": ms(ours) / ms(wt_cold),
            "vs_wasmtime_run_precompiled": ms(ours) / ms(wt_pre),
        },
        "noop_extra_ms": ms(noop) - ms(noop_plain),
    });
    let out = root().join("bench/results/compose-binary.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    let table = format!(
        "| start to exit (prints `Hello, World!`) | time | `hello-cli` vs it | goal |\n|---|---|---|---|\n\
         | release `hello-cli` (embedded precompiled code, built alone) | {:.1} ms | | |\n\
         | native Rust \"hello\" (same crate without `compose!`) | {:.1} ms | **{:.2}×** | ≤ 1.5× |\n\
         | `wasmtime run`, no cache | {:.1} ms | **{:.2}×** | ≤ 0.5× |\n\
         | `wasmtime run --allow-precompiled` of `wasmtime compile`'s `.cwasm` | {:.1} ms | **{:.2}×** | ≤ 1.0× |\n\n\
         | peak RSS (median of 5) | KiB | `hello-cli` vs it | goal |\n|---|---|---|---|\n\
         | release `hello-cli` | {} | | |\n\
         | native Rust \"hello\" | {} | {:.1}× | |\n\
         | `wasmtime run --allow-precompiled` | {} | **{:.2}×** | ≤ 1.0× |\n\n\
         | release `hello-cli` on disk | **{:.1} MB** | goal ≤ 10 MB |\n|---|---|---|\n\n\
         | `cargo build -p hello-cli` (dev) | time | goal |\n|---|---|---|\n\
         | no-op, with `compose!` | {:.0} ms | |\n\
         | no-op, same crate without `compose!` | {:.0} ms | |\n\
         | what `compose!` adds to a no-op build | **{:+.0} ms** | ≤ 100 ms |\n\
         | rebuild after touching `greeter/src/lib.rs` | {:.0} ms | |\n",
        ms(ours),
        ms(native_t),
        ms(ours) / ms(native_t),
        ms(wt_cold),
        ms(ours) / ms(wt_cold),
        ms(wt_pre),
        ms(ours) / ms(wt_pre),
        rss_ours,
        rss_native,
        rss_ours as f64 / rss_native as f64,
        rss_wt_pre,
        rss_ours as f64 / rss_wt_pre as f64,
        size_mb,
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

/// The median peak resident set size, in KiB, of five runs of `make`'s command, as GNU time
/// (`/usr/bin/time -f %M`, Debian's `time` package) reports it.
fn peak_rss_kb(make: &dyn Fn() -> Command) -> Result<u64> {
    let mut peaks = Vec::new();
    for _ in 0..5 {
        let cmd = make();
        let mut timed = Command::new("/usr/bin/time");
        timed
            .args(["-f", "%M"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        let out = timed.output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        let Some(kb) = err.lines().last().and_then(|l| l.trim().parse().ok()) else {
            bail!("cannot read a peak RSS from GNU time's output: {err}");
        };
        peaks.push(kb);
    }
    peaks.sort_unstable();
    Ok(peaks[peaks.len() / 2])
}

/// Sets a file's modification time to now, without changing it.
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}
