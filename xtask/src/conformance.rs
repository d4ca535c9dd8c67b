//! `cargo xtask conformance`: builds composectl and the runner, runs every vector, writes
//! `artifacts/conformance-summary.json`.

use anyhow::Result;

use crate::util::{self, cargo, root, target_dir};

pub fn run() -> Result<()> {
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
        .arg(root().join("artifacts/conformance-summary.json"));
    util::run(runner)
}
