//! Building workspace crates for `wasm32-wasip2`, in their own target folder so a nested cargo
//! never waits on the build lock of the cargo that runs us.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand};

/// Builds the named packages of the Cargo workspace at `manifest` for `wasm32-wasip2` (release)
/// into `target_dir`, and returns each package's component: package name → `.wasm` path.
///
/// On failure the error holds cargo's own output.
pub fn build_guests(
    manifest: &Path,
    packages: &[&str],
    target_dir: &Path,
) -> Result<BTreeMap<String, PathBuf>, String> {
    let metadata = MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .map_err(|e| format!("cannot read the workspace `{}`: {e}", manifest.display()))?;
    for p in packages {
        if !metadata
            .workspace_packages()
            .iter()
            .any(|w| w.name.as_str() == *p)
        {
            let names: Vec<String> = metadata
                .workspace_packages()
                .iter()
                .map(|w| format!("`{}`", w.name))
                .collect();
            return Err(format!(
                "no crate `{p}` in the workspace `{}`; it has {}",
                metadata.workspace_root,
                names.join(", ")
            ));
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--message-format=json-render-diagnostics",
    ])
    .arg("--manifest-path")
    .arg(manifest)
    .arg("--target-dir")
    .arg(target_dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    // A build script's environment must not leak into the guest build.
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("CARGO_TARGET_DIR");
    for p in packages {
        cmd.args(["--package", p]);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run cargo: {e}"))?;
    // Cargo's progress ("Compiling greeter …") goes on to our stderr as it comes, so a long
    // first build shows what it is doing; it is also kept for the error message.
    let stderr = child.stderr.take().expect("stderr is piped");
    let progress = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut kept = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("{line}");
            kept.push_str(&line);
            kept.push('\n');
        }
        kept
    });
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        out.read_to_end(&mut stdout)
            .map_err(|e| format!("cannot read cargo's output: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for cargo: {e}"))?;
    let stderr_text = progress.join().unwrap_or_default();
    let mut found = BTreeMap::new();
    for message in Message::parse_stream(&stdout[..]).flatten() {
        if let Message::CompilerArtifact(a) = message {
            let name = a.target.name.replace('_', "-");
            let package = packages.iter().find(|p| {
                p.replace('_', "-") == name || a.package_id.repr.contains(&format!("#{p}@"))
            });
            if let Some(p) = package
                && let Some(wasm) = a.filenames.iter().find(|f| f.extension() == Some("wasm"))
            {
                found.insert((*p).to_owned(), wasm.clone().into_std_path_buf());
            }
        }
    }
    if !status.success() {
        return Err(format!(
            "`cargo build --target wasm32-wasip2` failed for {}:\n{stderr_text}",
            packages.join(", ")
        ));
    }
    for p in packages {
        if !found.contains_key(*p) {
            return Err(format!(
                "crate `{p}` built but produced no `.wasm`; is it a `bin` or a `cdylib`?"
            ));
        }
    }
    Ok(found)
}
