//! Reading inputs (a path or `-` for stdin) and writing outputs atomically.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// Reads a whole file, or stdin when `path` is `-`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("failed to read standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))
}

/// Prints text to stdout. A closed pipe (`composectl … | head`) ends the output quietly
/// instead of failing.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("failed to write standard output")
        }
        _ => Ok(()),
    }
}

/// Prints a line to stdout, like [`print`].
pub fn println(text: impl std::fmt::Display) -> Result<()> {
    print(&format!("{text}\n"))
}

/// Writes `bytes` to `out`, atomically (a temporary file renamed into place, its folder created
/// if needed) and flushed to disk, or to stdout.
pub fn write(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    let Some(path) = out else {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(bytes)
            .context("failed to write standard output")?;
        return stdout.flush().context("failed to write standard output");
    };
    compose_model::blobs::write_atomic(path, bytes)
        .with_context(|| format!("failed to write `{}`", path.display()))
}

/// Writes a build output that the same command can make again from its inputs (a composed
/// component): atomically, so a reader never sees part of it, but without waiting for the
/// disk, as compilers and `wac`/`wasm-tools` do; after a power loss it is rebuilt. Its folder
/// is created if needed (`-o build/hello.wasm`), as compilers do.
pub fn write_rebuildable(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create the folder `{}`", dir.display()))?;
    }
    compose_model::blobs::write_rebuildable(path, bytes)
        .with_context(|| format!("failed to write `{}`", path.display()))
}

/// Writes a new file readable and writable by its owner only (a private key), refusing to
/// replace one that exists, and flushes it to disk.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .with_context(|| format!("failed to write `{}`", path.display()))
}
