//! `cargo xtask conformance [--sign-key KEY]`: builds composectl and the runner, runs every
//! vector, writes `artifacts/conformance-summary.json` and the in-toto test-result statement
//! `artifacts/conformance-attestation.json` (a Sigstore bundle when signed).

use anyhow::Result;

use crate::util::{self, cargo, root, target_dir};

pub fn run(sign_key: Option<&str>) -> Result<()> {
    let mut build = cargo();
    build.args([
        "build",
        "--package",
        "composectl",
        "--package",
        "conformance-runner",
    ]);
    util::run(build)?;
    let bin = target_dir().join("debug");
    let mut runner = std::process::Command::new(bin.join("conformance-runner"));
    runner
        .arg("run")
        .arg("--composectl")
        .arg(bin.join("composectl"))
        .arg("--vectors")
        .arg(root().join("conformance/vectors"))
        .arg("--json")
        .arg(root().join("artifacts/conformance-summary.json"))
        .arg("--attestation")
        .arg(root().join("artifacts/conformance-attestation.json"));
    if let Some(key) = sign_key {
        runner.arg("--sign-key").arg(key);
    }
    util::run(runner)
}
