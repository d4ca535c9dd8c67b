//! Helpers shared by the tasks: the workspace root and running commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace root (the folder above `xtask/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The target folder cargo builds into.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// `cargo` with the same toolchain that runs xtask, in the workspace root.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs a command, failing with its name when it fails.
pub fn run(mut cmd: Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("failed to start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Fresh copies of the binaries `tools`, in `dir/bin`, for timing. On the machines this
/// project is measured on, a binary written moments ago starts faster than the same bytes
/// written long before (a cold `composectl emit build` 3.9 vs 4.2 ms, `wac plug` 4.1 vs 4.6 ms;
/// bench/README.md): timing each tool's fresh copy puts them all in the same state, whenever
/// each was built or installed.
pub fn fresh_copies<const N: usize>(dir: &Path, tools: [&Path; N]) -> Result<[PathBuf; N]> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let mut copies = Vec::with_capacity(N);
    for tool in tools {
        let name = tool
            .file_name()
            .with_context(|| format!("`{}` names no file", tool.display()))?;
        let copy = bin.join(name);
        std::fs::copy(tool, &copy)
            .with_context(|| format!("failed to copy `{}`", tool.display()))?;
        copies.push(copy);
    }
    Ok(copies.try_into().expect("one copy per tool"))
}

/// Median wall time of `runs` runs of a command (after one warm-up run), checking its exit.
pub fn time(what: &str, runs: usize, make: &dyn Fn() -> Command) -> Result<Duration> {
    Ok(time_rounds(runs, &[(what, make)])?[0])
}

/// Times commands against each other: one warm-up run of each, then `runs` rounds in which
/// each command runs once, in turn, so that a machine that slows down or speeds up during the
/// benchmark affects them all alike. The rounds take the commands in every order in turn
/// ([`nth_order`]), so that each follows each of the others about equally often: what ran
/// just before matters here (a command run right after `wasmtime` took 0.2 ms less than the
/// same command run right after ours). Returns each command's median wall time, in the order
/// given. Output goes nowhere; a failing run stops the benchmark with its standard error.
pub fn time_rounds(
    runs: usize,
    commands: &[(&str, &dyn Fn() -> Command)],
) -> Result<Vec<Duration>> {
    let mut times = vec![Vec::with_capacity(runs); commands.len()];
    for round in 0..=runs {
        for i in nth_order(commands.len(), round) {
            let ((what, make), times) = (&commands[i], &mut times[i]);
            let mut cmd = make();
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
            let start = Instant::now();
            let out = cmd
                .output()
                .with_context(|| format!("failed to run {what}"))?;
            let t = start.elapsed();
            if !out.status.success() {
                bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            if round > 0 {
                times.push(t);
            }
        }
    }
    Ok(times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect())
}

/// The `k`-th (cycling) of the orders of `0..n`, all `n!` of them in lexicographic order.
pub fn nth_order(n: usize, k: usize) -> Vec<usize> {
    let orders: usize = (1..=n).product();
    let mut k = k % orders;
    let mut left: Vec<usize> = (0..n).collect();
    let mut order = Vec::with_capacity(n);
    for place in (0..n).rev() {
        let block: usize = (1..=place).product();
        order.push(left.remove(k / block));
        k %= block;
    }
    order
}

/// Builds the example guests for `wasm32-wasip2` (release) into `<target>/guests` and returns
/// the folder the `.wasm` files are in.
pub fn build_example_guests() -> Result<PathBuf> {
    let mut g = cargo();
    g.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(root().join("examples/guests/Cargo.toml"))
    .arg("--target-dir")
    .arg(target_dir().join("guests"));
    run(g)?;
    Ok(target_dir().join("guests/wasm32-wasip2/release"))
}

/// The two-component example (app → greeter) as a plan over the built guests in `guests`,
/// granting args and the output capability `output` (`stdio` or `stdout`).
pub fn hello_plan(guests: &Path, output: &str) -> String {
    format!(
        "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.app]\npath = {:?}\nexports = [\"wasi:cli/run\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\ncapabilities = {{ {output} = \"required\", args = \"required\" }}\n[exports]\n\"wasi:cli/run\" = \"app\"\n[grants]\n{output} = true\nargs = true\n",
        guests.join("greeter.wasm").display().to_string(),
        guests.join("app.wasm").display().to_string()
    )
}

/// Milliseconds, for reports.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The composed component a `compose!` binary embeds: the macro output (under
/// `<target>/compose/out`) whose `component.wasm` occurs in the binary.
pub fn embedded_component(binary: &Path) -> Result<PathBuf> {
    let bytes =
        std::fs::read(binary).with_context(|| format!("failed to read `{}`", binary.display()))?;
    let out = target_dir().join("compose/out");
    for entry in std::fs::read_dir(&out)?.flatten() {
        let p = entry.path().join("component.wasm");
        if let Ok(c) = std::fs::read(&p)
            && bytes.windows(c.len()).any(|w| w == c)
        {
            return Ok(p);
        }
    }
    bail!(
        "no output under `{}` is embedded in `{}`",
        out.display(),
        binary.display()
    )
}

#[cfg(test)]
mod tests {
    use super::nth_order;

    #[test]
    fn rounds_take_every_order_in_turn() {
        let orders: Vec<Vec<usize>> = (0..6).map(|k| nth_order(3, k)).collect();
        let mut distinct = orders.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{orders:?}");
        assert_eq!(orders[0], [0, 1, 2]);
        assert_eq!(nth_order(3, 6), orders[0], "cycles");
        // Over a cycle, each command comes right before each other one equally often.
        let mut before = [[0; 3]; 3];
        for order in &orders {
            for pair in order.windows(2) {
                before[pair[0]][pair[1]] += 1;
            }
        }
        for (a, row) in before.iter().enumerate() {
            for (b, &n) in row.iter().enumerate() {
                assert_eq!(n, if a == b { 0 } else { 2 }, "{before:?}");
            }
        }
        assert_eq!(nth_order(1, 5), [0]);
        assert!(nth_order(0, 3).is_empty());
    }
}
