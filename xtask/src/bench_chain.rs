//! How emit scales: a chain app → f0 → … → f(N-1) → greeter in which every `f` is the same
//! formatter component, emitted by `composectl emit build --no-cache` and by `wac compose`
//! from the same inputs in the same run, at N ∈ {1, 10, 50, 100, 200}: wall time and output
//! size. `cargo xtask bench-chain`, and part of `cargo xtask bench-exec`.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::peers::{self, WAC, WASM_TOOLS};
use crate::util::{self, ms};

/// The interface every link imports and exports, as the binaries name it.
const GREETER: &str = "example:greet/greeter@1.0.0";
/// Chain lengths measured.
const LENGTHS: [usize; 5] = [1, 10, 50, 100, 200];
/// Rounds per length (fewer than the two-component example's: the long chains take longer).
const RUNS: usize = 21;

/// One length's figures.
struct Point {
    n: usize,
    ours_ms: f64,
    wac_ms: f64,
    ours_bytes: u64,
    wac_bytes: u64,
}

/// `cargo xtask bench-chain`: this series alone.
pub fn run() -> Result<()> {
    let wasm_tools = peers::ensure(&WASM_TOOLS)?;
    let wac = peers::ensure(&WAC)?;
    let mut build = util::cargo();
    build.args(["build", "--release", "--package", "composectl"]);
    util::run(build)?;
    let guests = util::build_example_guests()?;
    // Fresh copies of the binaries timed (`util::fresh_copies`; `bench-exec` passes its own).
    let bin = tempfile::tempdir()?;
    let [composectl, wac] = util::fresh_copies(
        bin.path(),
        [&util::target_dir().join("release/composectl"), &wac],
    )?;
    record(&composectl, &wac, &wasm_tools, &guests)
}

/// Measures every length, writes `bench/results/emit-chain.json` and the table in
/// `bench/README.md`. `composectl` and `wac` are timed where they are: give fresh copies.
pub fn record(composectl: &Path, wac: &Path, wasm_tools: &Path, guests: &Path) -> Result<()> {
    let (series, table) = measure(composectl, wac, wasm_tools, guests)?;
    let doc = json!({
        "benchmark": "emit-chain",
        "what": format!("app → f0 → … → f(N-1) → greeter, every f the same formatter component; whole-command wall time of `composectl emit build --no-cache` and `wac compose` (fresh copies of both binaries) of the same chain, median of {RUNS} interleaved rounds after a warm-up round; output sizes"),
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "series": series,
    });
    let out = util::root().join("bench/results/emit-chain.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    crate::bench::replace_section(&util::root().join("bench/README.md"), "emit-chain", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}

/// Measures every length; returns the JSON series and the README table.
fn measure(
    composectl: &Path,
    wac: &Path,
    wasm_tools: &Path,
    guests: &Path,
) -> Result<(Value, String)> {
    let work = tempfile::tempdir()?;
    let dir = work.path();
    // The guests sit next to the plans, which name them by relative paths, as a plan kept
    // with its components does (the output records its plan, paths as written).
    std::fs::create_dir_all(dir.join("guests"))?;
    for name in ["app", "formatter", "greeter"] {
        let file = format!("{name}.wasm");
        std::fs::copy(guests.join(&file), dir.join("guests").join(&file))?;
    }
    let guests = Path::new("guests");
    let mut points = Vec::new();
    for n in LENGTHS {
        let plan = dir.join(format!("chain-{n}.toml"));
        std::fs::write(&plan, plan_text(n, guests))?;
        let script = dir.join(format!("chain-{n}.wac"));
        std::fs::write(&script, wac_text(n))?;
        let (ours, theirs) = (
            dir.join(format!("ours-{n}.wasm")),
            dir.join(format!("wac-{n}.wasm")),
        );
        let emit = || {
            let mut c = Command::new(composectl);
            c.current_dir(dir)
                .args(["emit", "build", "--no-cache"])
                .arg(&plan)
                .arg("-o")
                .arg(&ours)
                .arg("--cache-dir")
                .arg(dir.join("cache"));
            c
        };
        let compose = || {
            let mut c = Command::new(wac);
            c.current_dir(dir)
                .arg("compose")
                .arg(&script)
                .arg("-o")
                .arg(&theirs);
            for (package, file) in [
                ("app", "app"),
                ("formatter", "formatter"),
                ("greeter", "greeter"),
            ] {
                c.arg("--dep").arg(format!(
                    "example:{package}={}",
                    guests.join(format!("{file}.wasm")).display()
                ));
            }
            c
        };
        let [ours_t, wac_t] = util::time_rounds(
            RUNS,
            &[
                (&format!("composectl emit build, N = {n}"), &emit),
                (&format!("wac compose, N = {n}"), &compose),
            ],
        )?[..] else {
            unreachable!("two commands timed")
        };
        // Both outputs are valid components, and ours runs the whole chain.
        for out in [&ours, &theirs] {
            let mut validate = Command::new(wasm_tools);
            validate.arg("validate").arg(out);
            util::run(validate)?;
        }
        let printed = Command::new(composectl)
            .args(["exec", "run"])
            .arg(&ours)
            .arg("--plan")
            .arg(&plan)
            .args(["--", "World"])
            .output()?;
        let want = format!("{}Hello, World!{}", "*** ".repeat(n), " ***".repeat(n));
        if String::from_utf8_lossy(&printed.stdout).trim() != want {
            bail!(
                "the chain of {n} printed {:?}",
                String::from_utf8_lossy(&printed.stdout)
            );
        }
        points.push(Point {
            n,
            ours_ms: ms(ours_t),
            wac_ms: ms(wac_t),
            ours_bytes: std::fs::metadata(&ours)?.len(),
            wac_bytes: std::fs::metadata(&theirs)?.len(),
        });
    }
    let series: Vec<Value> = points
        .iter()
        .map(|p| {
            json!({
                "n": p.n,
                "composectl_ms": p.ours_ms,
                "wac_ms": p.wac_ms,
                "time_vs_wac": p.ours_ms / p.wac_ms,
                "composectl_bytes": p.ours_bytes,
                "wac_bytes": p.wac_bytes,
                "size_vs_wac": p.ours_bytes as f64 / p.wac_bytes as f64,
            })
        })
        .collect();
    let mut table = String::from(
        "| chain of N formatters | `composectl emit build --no-cache` | `wac compose` | time vs wac (goal ≤ 1.0×) | output | wac's output | size vs wac (goal ≤ 1.1×) |\n|---|---|---|---|---|---|---|\n",
    );
    for p in &points {
        table.push_str(&format!(
            "| N = {} | {:.1} ms | {:.1} ms | **{:.2}×** | {:.0} KB | {:.0} KB | **{:.2}×** |\n",
            p.n,
            p.ours_ms,
            p.wac_ms,
            p.ours_ms / p.wac_ms,
            p.ours_bytes as f64 / 1e3,
            p.wac_bytes as f64 / 1e3,
            p.ours_bytes as f64 / p.wac_bytes as f64,
        ));
    }
    Ok((Value::Array(series), table))
}

/// The plan: `f0` … `f(n-1)` all from `formatter.wasm`, each wired to the next; `guests` is
/// where the components are, relative to the plan.
fn plan_text(n: usize, guests: &Path) -> String {
    let path = |name: &str| {
        format!(
            "{:?}",
            guests.join(format!("{name}.wasm")).display().to_string()
        )
    };
    let mut plan = format!(
        "[components.greeter]\npath = {}\nexports = [\"example:greet/greeter\"]\n",
        path("greeter")
    );
    for i in 0..n {
        let next = if i + 1 == n {
            "greeter".to_owned()
        } else {
            format!("f{}", i + 1)
        };
        plan += &format!(
            "[components.f{i}]\npath = {}\nexports = [\"example:greet/greeter\"]\nimports = {{ \"example:greet/greeter\" = \"{next}\" }}\n",
            path("formatter")
        );
    }
    plan += &format!(
        "[components.app]\npath = {}\nexports = [\"wasi:cli/run\"]\nimports = {{ \"example:greet/greeter\" = \"f0\" }}\ncapabilities = {{ stdio = \"required\", args = \"required\" }}\n[exports]\n\"wasi:cli/run\" = \"app\"\n[grants]\nstdio = true\nargs = true\n",
        path("app")
    );
    plan
}

/// The same chain in the WAC language, its links named `linkI` (`f32` is a WAC keyword):
/// greeter first, then `link(n-1)` down to `link0`, then app,
/// whose exports are the composition's; WASI imports pass through (`...`).
fn wac_text(n: usize) -> String {
    let mut text =
        String::from("package bench:chain;\nlet greeter = new example:greeter { ... };\n");
    for i in (0..n).rev() {
        let next = if i + 1 == n {
            "greeter".to_owned()
        } else {
            format!("link{}", i + 1)
        };
        text += &format!(
            "let link{i} = new example:formatter {{ \"{GREETER}\": {next}[\"{GREETER}\"], ... }};\n"
        );
    }
    text += &format!(
        "let app = new example:app {{ \"{GREETER}\": link0[\"{GREETER}\"], ... }};\nexport app...;\n"
    );
    text
}
