//! `cargo xtask ci`: exactly what `.ci/run` checks, so green here means green in CI.

use anyhow::Result;

use crate::util::{self, cargo};

pub fn run() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    util::run(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    util::run(clippy)?;
    // The runtime with no optional feature: the `cfg(not(…))` side the workspace never builds.
    let mut lean_clippy = cargo();
    lean_clippy.args([
        "clippy",
        "-p",
        "compose-runtime",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]);
    util::run(lean_clippy)?;
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    util::run(test)?;
    crate::test_lean::run(&[])?;
    crate::conformance::run(None)
}
