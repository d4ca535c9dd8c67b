//! Peer tools for benchmarks (wasm-tools, wac, wasmtime): found on PATH, or installed with
//! `cargo install` into cargo's bin folder. Benchmarks only; CI never installs them.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// A peer tool: its command name and how to install it.
pub struct Peer {
    pub bin: &'static str,
    pub install: &'static [&'static str],
}

pub const WASM_TOOLS: Peer = Peer {
    bin: "wasm-tools",
    install: &["install", "--locked", "wasm-tools@1.261.0"],
};
pub const WAC: Peer = Peer {
    bin: "wac",
    install: &["install", "--locked", "wac-cli", "--no-default-features"],
};
/// The same Wasmtime as the runtime's dependency.
pub const WASMTIME: Peer = Peer {
    bin: "wasmtime",
    install: &["install", "--locked", "wasmtime-cli@50.0.1"],
};

/// The tool's path, installing it first if it is missing.
pub fn ensure(peer: &Peer) -> Result<PathBuf> {
    if let Some(p) = find(peer.bin) {
        return Ok(p);
    }
    eprintln!(
        "`{}` is not installed; installing it (this takes minutes)",
        peer.bin
    );
    let mut cmd = Command::new("cargo");
    cmd.args(peer.install);
    util::run(cmd)?;
    find(peer.bin).with_context(|| {
        format!(
            "`{}` was installed but is not on PATH or in cargo's bin folder",
            peer.bin
        )
    })
}

/// Where `bin` is: on `PATH`, else in cargo's bin folder.
pub fn find(bin: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME").or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").into_os_string())
    }) {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    dirs.into_iter().map(|d| d.join(bin)).find(|p| p.is_file())
}
