//! Running one `composectl` command and capturing what it did.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::summary::Step;

/// Runs `composectl ARGS` with no stdin and returns the step with its output.
pub fn run(composectl: &Path, args: &[&str]) -> Result<(Step, Vec<u8>)> {
    let out = Command::new(composectl)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("failed to run `{}`", composectl.display()))?;
    let step = Step {
        args: args.iter().map(|s| s.to_string()).collect(),
        exit: out.status.code(),
        stdout: printable(&out.stdout),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    Ok((step, out.stdout))
}

/// Text as is; binary output as `hex:…`.
fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => format!("hex:{}", hex(bytes)),
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lowercase or uppercase hex (spaces allowed).
pub fn unhex(s: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    anyhow::ensure!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| {
            u8::from_str_radix(std::str::from_utf8(p)?, 16)
                .with_context(|| format!("`{}` is not hex", String::from_utf8_lossy(p)))
        })
        .collect()
}
