//! `cargo xtask fuzz [SECONDS]`: runs each cargo-fuzz target of compose-model in turn.

use anyhow::{Context, Result};

use crate::util::{self, root};

const TARGETS: &[&str] = &["cbor", "plan"];

pub fn run(seconds: Option<&str>) -> Result<()> {
    let seconds: u64 = seconds
        .unwrap_or("60")
        .parse()
        .context("SECONDS must be a whole number")?;
    for target in TARGETS {
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(root().join("compose-model/fuzz")).args([
            "+nightly",
            "fuzz",
            "run",
            "-O",
            target,
            "--",
            &format!("-max_total_time={seconds}"),
            "-max_len=4096",
        ]);
        util::run(cmd)?;
    }
    Ok(())
}
