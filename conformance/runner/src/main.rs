//! `conformance-runner run`: runs the vectors through a composectl binary and writes a summary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

/// Runs the conformance vectors through a `composectl` binary.
#[derive(Parser)]
#[command(name = "conformance-runner", version, about)]
enum Cli {
    /// Run every vector; exit 1 if any fails.
    Run {
        /// The composectl binary under test (default: `$COMPOSECTL`, else `composectl` next to
        /// this runner, built first under `cargo run`).
        #[arg(long)]
        composectl: Option<PathBuf>,
        /// The folder of vector files.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors"))]
        vectors: PathBuf,
        /// Write the JSON summary here (results per `file/tcId`, with stdout and stderr).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write the run as an in-toto statement with the test-result predicate
        /// (subject: the composectl binary), as canonical JSON, or signed with `--sign-key`.
        #[arg(long)]
        attestation: Option<PathBuf>,
        /// Sign the attestation with this private key (PKCS#8 PEM, `composectl trust keygen`)
        /// into a Sigstore bundle. A key made for one run proves the format, not who ran it.
        #[arg(long, requires = "attestation")]
        sign_key: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let Cli::Run {
        composectl,
        vectors,
        json,
        attestation,
        sign_key,
    } = Cli::parse();
    let composectl = match composectl.or_else(|| std::env::var_os("COMPOSECTL").map(PathBuf::from))
    {
        Some(p) => p,
        None => {
            // Under `cargo run`, build composectl first so the vectors never run a stale binary.
            if let Some(cargo) = std::env::var_os("CARGO") {
                // The workspace `cargo run` was called in: cargo sets CARGO_MANIFEST_DIR for
                // the run as well. The compile-time value is only a fallback, since a binary
                // cargo finds fresh may have been built from a copy of the workspace elsewhere.
                let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
                let status = std::process::Command::new(cargo)
                    .args(["build", "--quiet", "--package", "composectl"])
                    .current_dir(manifest_dir.join("../.."))
                    .status()
                    .context("failed to run cargo to build composectl")?;
                anyhow::ensure!(status.success(), "building composectl failed");
            }
            std::env::current_exe()?
                .parent()
                .context("the runner's own path has no folder")?
                .join(format!("composectl{}", std::env::consts::EXE_SUFFIX))
        }
    };
    anyhow::ensure!(
        composectl.exists(),
        "`{}` does not exist; build it with `cargo build -p composectl` or pass `--composectl`",
        composectl.display()
    );
    // What is tested, hashed before the run.
    let tested = match &attestation {
        Some(_) => Some(conformance_runner::attest::Tested::read(
            &composectl,
            &vectors,
        )?),
        None => None,
    };
    let summary = conformance_runner::run(&composectl, &vectors)?;
    for case in summary.failures() {
        eprintln!(
            "FAIL {} ({}): {}",
            case.id,
            case.comment,
            case.reason.as_deref().unwrap_or("")
        );
    }
    for (suite, t) in &summary.suites {
        println!("{suite}: {} passed, {} failed", t.passed, t.failed);
    }
    println!(
        "{} passed, {} failed",
        summary.totals.passed, summary.totals.failed
    );
    if let Some(path) = json {
        write(
            &path,
            (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
        )?;
        println!("summary written to {}", path.display());
    }
    if let (Some(path), Some(tested)) = (attestation, tested) {
        let bytes = conformance_runner::attest::make(&summary, &tested, sign_key.as_deref())?;
        write(&path, &bytes)?;
        let how = if sign_key.is_some() { "signed " } else { "" };
        println!("{how}attestation written to {}", path.display());
    }
    Ok(summary.totals.failed == 0)
}

/// Writes `bytes` to `path`, creating its folder, through a temporary file renamed into
/// place, so a reader never sees half a file.
fn write(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create `{}`", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("failed to write in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    Ok(())
}
