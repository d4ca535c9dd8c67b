//! Project automation, run as `cargo xtask <task>` (matklad's xtask convention).
//!
//! One module per task; `main` only dispatches. With no task, prints help.

use std::process::ExitCode;

mod bench;
mod bench_audit;
mod bench_binary;
mod bench_chain;
mod bench_compare;
mod bench_exec;
mod bench_serve;
mod bench_trust;
mod ci;
mod conformance;
mod fuzz;
mod peers;
mod test_lean;
mod util;

const HELP: &str = "\
cargo xtask <task>

Tasks:
  ci                 what CI runs: fmt --check, clippy -D warnings, all tests, conformance
  test-lean [ARGS]   the examples' tests, each group built alone as a user's crate is (no
                     compiler; only the compose-runtime features it asks for); also
                     `cargo test-lean`; ARGS go to each `cargo test`
  conformance [--sign-key KEY]
                     build composectl and run every conformance vector through it;
                     writes artifacts/conformance-summary.json and the run as an in-toto
                     test-result statement, artifacts/conformance-attestation.json (with
                     --sign-key: a Sigstore bundle signing it)
  bench [--report]   run the benchmarks, write bench/results/*.json and the tables in
                     bench/README.md (--report: only rewrite them from the last run)
  bench-exec         emit and exec against wac, wasm-tools and wasmtime (installs them with
                     cargo install when missing), emit of a chain of N formatters against
                     `wac compose` (N = 1 to 200), and instantiation default vs pooling
  bench-chain        only the chain of N formatters against `wac compose`
  bench-binary       the release `compose!` binary (hello-cli) against `wasmtime run`, and
                     what the macro adds to a no-op and a guest-touching `cargo build`
  bench-serve        wrk load (64 connections, 30 s) on the `hello-http` binary and on
                     `wasmtime serve` of the same component (needs wrk: apt-get install -y wrk)
  bench-audit        what the audit log costs `exec serve` under wrk: no log, host records
                     only, a guest record per request, and `wasmtime serve` (needs wrk)
  bench-trust        what signatures cost: verify in-process and as commands, and a warm
                     `exec run` with --require-signature against one without
  bench-compare BASE NEW
                     two composectl binaries against each other in one run: warm exec run
                     (interleaved rounds) and exec serve under wrk (taking turns)
  fuzz [SECONDS]     run each cargo-fuzz target for SECONDS (default 60); needs nightly and
                     cargo-fuzz (`cargo +nightly install cargo-fuzz`)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("test-lean") => test_lean::run(&args[1..]),
        Some("conformance") => match (args.get(1).map(String::as_str), args.get(2)) {
            (None, _) => conformance::run(None),
            (Some("--sign-key"), Some(key)) => conformance::run(Some(key)),
            _ => {
                eprint!("error: `conformance` takes only `--sign-key KEY`\n\n{HELP}");
                return ExitCode::from(2);
            }
        },
        Some("bench") => bench::run(args.get(1).is_some_and(|a| a == "--report")),
        Some("bench-exec") => bench_exec::run(),
        Some("bench-chain") => bench_chain::run(),
        Some("bench-binary") => bench_binary::run(),
        Some("bench-serve") => bench_serve::run(),
        Some("bench-trust") => bench_trust::run(),
        Some("bench-audit") => bench_audit::run(),
        Some("bench-compare") => match (args.get(1), args.get(2)) {
            (Some(base), Some(new)) => bench_compare::run(base, new),
            _ => {
                eprint!("error: `bench-compare` takes two composectl binaries\n\n{HELP}");
                return ExitCode::from(2);
            }
        },
        Some("fuzz") => fuzz::run(args.get(1).map(String::as_str)),
        None | Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprint!("error: unknown task `{other}`\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
