//! Emit and exec against their peers in one run: `composectl emit build` vs `wac plug` and
//! `wasm-tools compose`, `composectl exec run` vs `wasmtime run` (cold and warm), plus the
//! instantiation benchmark. Whole-command times, median of several interleaved rounds; and
//! `compose_build::emit` in-process (`compose-build/benches/emit.rs`), as a build script or
//! `compose!` calls it, with no process to start.

use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;

use crate::peers::{self, WAC, WASM_TOOLS, WASMTIME};
use crate::util::{self, cargo, ms, root, target_dir};

/// Rounds per group of commands (see [`util::time_rounds`]): with 21, recorded ratios moved by
/// 0.1 between runs an hour apart on a 2-core machine.
const RUNS: usize = 41;

pub fn run() -> Result<()> {
    let wasm_tools = peers::ensure(&WASM_TOOLS)?;
    let wac = peers::ensure(&WAC)?;
    let wasmtime = peers::ensure(&WASMTIME)?;
    let mut build = cargo();
    build.args(["build", "--release", "--package", "composectl"]);
    util::run(build)?;
    let guests = util::build_example_guests()?;

    let work = tempfile::tempdir()?;
    let dir = work.path();
    let [composectl, wac, wasm_tools, wasmtime] = util::fresh_copies(
        dir,
        [
            &target_dir().join("release/composectl"),
            &wac,
            &wasm_tools,
            &wasmtime,
        ],
    )?;
    let plan = dir.join("hello.toml");
    std::fs::write(&plan, util::hello_plan(&guests, "stdio"))?;
    let cache = dir.join("cache");
    let ours = dir.join("ours.wasm");
    let emit = |no_cache: bool| {
        let (c, p, o, cache) = (
            composectl.clone(),
            plan.clone(),
            ours.clone(),
            cache.clone(),
        );
        move || {
            let mut cmd = Command::new(&c);
            cmd.args(["emit", "build"])
                .arg(&p)
                .arg("-o")
                .arg(&o)
                .arg("--cache-dir")
                .arg(&cache);
            if no_cache {
                cmd.arg("--no-cache");
            }
            cmd
        }
    };
    let (app, greeter) = (guests.join("app.wasm"), guests.join("greeter.wasm"));
    let wac_out = dir.join("wac.wasm");
    let wac_plug = || {
        let mut c = Command::new(&wac);
        c.arg("plug")
            .arg(&app)
            .arg("--plug")
            .arg(&greeter)
            .arg("-o")
            .arg(&wac_out);
        c
    };
    let wt_out = dir.join("wasm-tools.wasm");
    let wt_compose = || {
        let mut c = Command::new(&wasm_tools);
        c.arg("compose")
            .arg(&app)
            .arg("-d")
            .arg(&greeter)
            .arg("-o")
            .arg(&wt_out);
        c
    };
    // The first round's cold emit fills the cache that the hits then use.
    let [emit_cold, emit_hit, wac_plug, wt_compose] = util::time_rounds(
        RUNS,
        &[
            ("composectl emit build --no-cache", &emit(true)),
            ("composectl emit build (cache hit)", &emit(false)),
            ("wac plug", &wac_plug),
            ("wasm-tools compose", &wt_compose),
        ],
    )?[..] else {
        unreachable!("four commands timed")
    };

    // The composed output is a plain component: wasm-tools validates it, wasmtime runs it.
    let mut validate = Command::new(&wasm_tools);
    validate.arg("validate").arg(&ours);
    util::run(validate)?;
    let out = Command::new(&wasmtime)
        .arg("run")
        .arg(&ours)
        .arg("World")
        .output()?;
    if String::from_utf8_lossy(&out.stdout).trim() != "Hello, World!" {
        bail!(
            "wasmtime run of the composed component printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    let wasmtime_cache = dir.join("wasmtime-cache.toml");
    std::fs::write(
        &wasmtime_cache,
        format!(
            "[cache]\ndirectory = {:?}\n",
            dir.join("wasmtime-cache").display().to_string()
        ),
    )?;
    let exec = |no_cache: bool| {
        let (c, w, p, cache) = (
            composectl.clone(),
            ours.clone(),
            plan.clone(),
            cache.clone(),
        );
        move || {
            let mut cmd = Command::new(&c);
            cmd.args(["exec", "run"])
                .arg(&w)
                .arg("--plan")
                .arg(&p)
                .arg("--cache-dir")
                .arg(&cache);
            if no_cache {
                cmd.arg("--no-cache");
            }
            cmd.args(["--", "World"]);
            cmd
        }
    };
    let wt_cold = || {
        let mut c = Command::new(&wasmtime);
        c.args(["run", "-C", "cache=n"]).arg(&ours).arg("World");
        c
    };
    let wt_warm = || {
        let mut c = Command::new(&wasmtime);
        c.args(["run", "-C", "cache=y", "-C"])
            .arg(format!("cache-config={}", wasmtime_cache.display()))
            .arg(&ours)
            .arg("World");
        c
    };
    // Cold and warm runs are timed in separate groups: a warm run right after a cold one (120
    // ms of Cranelift on both cores, then the kernel reclaiming that process's memory) took 2
    // ms longer, for both tools, which hid the warm runs' own difference.
    let [run_cold, wt_cold] = util::time_rounds(
        RUNS,
        &[
            ("composectl exec run --no-cache", &exec(true)),
            ("wasmtime run (no cache)", &wt_cold),
        ],
    )?[..] else {
        unreachable!("two commands timed")
    };
    // Warm runs find what the first round's (warm-up) runs cached.
    let [run_warm, wt_warm] = util::time_rounds(
        RUNS,
        &[
            ("composectl exec run (warm cache)", &exec(false)),
            ("wasmtime run (warm cache)", &wt_warm),
        ],
    )?[..] else {
        unreachable!("two commands timed")
    };

    let mut bench = cargo();
    bench.args([
        "bench",
        "--package",
        "compose-runtime",
        "--bench",
        "instantiate",
    ]);
    util::run(bench)?;
    let mut bench = cargo();
    bench.args(["bench", "--package", "compose-build", "--bench", "emit"]);
    util::run(bench)?;
    let (lib_cold_ns, ..) = crate::bench::estimate("emit", "cold")?;
    let (lib_hit_ns, ..) = crate::bench::estimate("emit", "cache-hit")?;
    let (default_ns, ..) = crate::bench::estimate("instantiate", "default")?;
    let (defaults_ns, ..) = crate::bench::estimate("instantiate", "pooling-wasmtime-defaults")?;
    let (pooling_ns, ..) = crate::bench::estimate("instantiate", "pooling")?;
    let (one_ns, ..) = crate::bench::estimate("instantiate", "pooling-one-core-module")?;

    let doc = json!({
        "benchmark": "emit-exec",
        "what": format!("whole-command wall time of fresh copies of every binary, median of {RUNS} rounds after a warm-up round, the commands of a group (the four emits; the cold runs; the warm runs) taking turns in each round; app → greeter example guests; peers wasm-tools 1.261.0, wac-cli, wasmtime-cli 50.0.1"),
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "emit_ms": { "composectl_cold": ms(emit_cold), "composectl_cache_hit": ms(emit_hit), "wac_plug": ms(wac_plug), "wasm_tools_compose": ms(wt_compose), "in_process_cold": lib_cold_ns / 1e6, "in_process_cache_hit": lib_hit_ns / 1e6 },
        "exec_ms": { "composectl_cold": ms(run_cold), "composectl_warm": ms(run_warm), "wasmtime_cold": ms(wt_cold), "wasmtime_warm": ms(wt_warm) },
        "instantiate_us": { "default": default_ns / 1e3, "pooling_wasmtime_defaults": defaults_ns / 1e3, "pooling": pooling_ns / 1e3, "pooling_one_core_module": one_ns / 1e3 },
        "ratios": {
            "emit_cold_vs_wac": ms(emit_cold) / ms(wac_plug),
            "emit_hit_vs_wac": ms(emit_hit) / ms(wac_plug),
            "emit_in_process_cold_vs_wac": lib_cold_ns / 1e6 / ms(wac_plug),
            "emit_in_process_hit_vs_wac": lib_hit_ns / 1e6 / ms(wac_plug),
            "emit_cold_vs_wasm_tools": ms(emit_cold) / ms(wt_compose),
            "exec_cold_vs_wasmtime": ms(run_cold) / ms(wt_cold),
            "exec_warm_vs_wasmtime": ms(run_warm) / ms(wt_warm),
        },
    });
    let out = root().join("bench/results/emit-exec.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    let r = |a: Duration, b: Duration| ms(a) / ms(b);
    let table = format!(
        "| emit (app → greeter) | time | vs `wac plug` | goal |\n|---|---|---|---|\n\
         | `wac plug` | {:.1} ms | 1.00× | |\n\
         | `wasm-tools compose` | {:.1} ms | {:.2}× | |\n\
         | `composectl emit build`, cold | {:.1} ms | **{:.2}×** | ≤ 0.9× |\n\
         | `composectl emit build`, cache hit | {:.1} ms | **{:.2}×** | ≤ 0.3× |\n\
         | `compose_build::emit` in-process, repeated (as `build.rs`, `compose!`), cold | {:.2} ms | {:.2}× | |\n\
         | `compose_build::emit` in-process, repeated (as `build.rs`, `compose!`), cache hit | {:.2} ms | {:.2}× | |\n\n\
         | exec (prints `Hello, World!`) | composectl | `wasmtime run` | ratio | goal |\n|---|---|---|---|---|\n\
         | cold (no caches) | {:.1} ms | {:.1} ms | {:.2}× | |\n\
         | warm (both caches) | {:.1} ms | {:.1} ms | **{:.2}×** | ≤ 0.6× |\n\n\
         | instantiation with `InstancePre` | per instance | goal |\n|---|---|---|\n\
         | default (on-demand) allocator | {:.1} µs | |\n\
         | pooling allocator, Wasmtime's default slot resets | {:.1} µs | |\n\
         | pooling allocator, `pooling_config` (as `exec serve`) | {:.1} µs | ≤ 5 µs |\n\
         | the floor: Wasmtime alone, a component of one core module and no imports, `pooling_config` | {:.1} µs | |\n",
        ms(wac_plug),
        ms(wt_compose),
        r(wt_compose, wac_plug),
        ms(emit_cold),
        r(emit_cold, wac_plug),
        ms(emit_hit),
        r(emit_hit, wac_plug),
        lib_cold_ns / 1e6,
        lib_cold_ns / 1e6 / ms(wac_plug),
        lib_hit_ns / 1e6,
        lib_hit_ns / 1e6 / ms(wac_plug),
        ms(run_cold),
        ms(wt_cold),
        r(run_cold, wt_cold),
        ms(run_warm),
        ms(wt_warm),
        r(run_warm, wt_warm),
        default_ns / 1e3,
        defaults_ns / 1e3,
        pooling_ns / 1e3,
        one_ns / 1e3,
    );
    crate::bench::replace_section(&root().join("bench/README.md"), "emit-exec", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    crate::bench_chain::record(&composectl, &wac, &wasm_tools, &guests)
}
