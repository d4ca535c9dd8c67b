//! Building workspace crates for `wasm32-wasip2`, in their own target folder so a nested cargo
//! never waits on the build lock of the cargo that runs us.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand};

use crate::GuestBuildError;

/// Builds the named packages of the Cargo workspace at `manifest` for `wasm32-wasip2` (release)
/// into `target_dir`, and returns each package's component: package name → `.wasm` path.
///
/// On failure the error holds cargo's own output.
pub fn build_guests(
    manifest: &Path,
    packages: &[&str],
    target_dir: &Path,
) -> Result<BTreeMap<String, PathBuf>, GuestBuildError> {
    Ok(build_guests_tracked(manifest, packages, target_dir)?
        .into_iter()
        .map(|(name, g)| (name, g.wasm))
        .collect())
}

/// A guest crate built for `wasm32-wasip2`, and the files it was built from.
#[derive(Clone, Debug)]
pub(crate) struct BuiltGuest {
    /// The component.
    pub wasm: PathBuf,
    /// Every file the build read, as cargo's dep-info lists them (sources, and the WIT files
    /// `wit-bindgen` reads), plus the package's and the workspace's `Cargo.toml` and the
    /// workspace's `Cargo.lock`: what a build script must watch to rebuild on a change.
    pub inputs: Vec<PathBuf>,
}

/// [`build_guests`], also returning each guest's input files.
pub(crate) fn build_guests_tracked(
    manifest: &Path,
    packages: &[&str],
    target_dir: &Path,
) -> Result<BTreeMap<String, BuiltGuest>, GuestBuildError> {
    let metadata = MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .map_err(|e| GuestBuildError::Workspace {
            manifest: manifest.to_owned(),
            message: e.to_string(),
        })?;
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
            return Err(GuestBuildError::NoSuchCrate {
                name: (*p).to_owned(),
                workspace: metadata.workspace_root.clone().into_std_path_buf(),
                available: names.join(", "),
            });
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
    .env_remove("CARGO_TARGET_DIR")
    // Nor the environment of a `cargo clippy` (or another wrapper) that compiles the macro:
    // the guests are built plainly, so their artifacts stay fresh across `cargo` commands.
    .env_remove("RUSTC_WORKSPACE_WRAPPER")
    .env_remove("CLIPPY_ARGS")
    .env_remove("CARGO_PRIMARY_PACKAGE");
    for p in packages {
        cmd.args(["--package", p]);
    }
    let mut child = cmd.spawn().map_err(GuestBuildError::Cargo)?;
    // Cargo's progress ("Compiling greeter …") goes on to our stderr as it comes, so a long
    // first build shows what it is doing; it is also kept for the error message.
    let stderr = child.stderr.take().expect("stderr is piped");
    let progress = std::thread::spawn(move || {
        use std::io::BufRead;
        // A build with nothing to do stays quiet (the macro runs this on every compile).
        let mut kept = String::new();
        let mut working = false;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !working && !line.trim_start().starts_with("Finished") {
                working = true;
                eprint!("{kept}");
            }
            if working {
                eprintln!("{line}");
            }
            kept.push_str(&line);
            kept.push('\n');
        }
        kept
    });
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        out.read_to_end(&mut stdout)
            .map_err(GuestBuildError::Cargo)?;
    }
    let status = child.wait().map_err(GuestBuildError::Cargo)?;
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
        return Err(GuestBuildError::Failed {
            packages: packages.join(", "),
            output: stderr_text,
        });
    }
    let mut built = BTreeMap::new();
    for p in packages {
        let Some(wasm) = found.remove(*p) else {
            return Err(GuestBuildError::NoComponent((*p).to_owned()));
        };
        let mut inputs = dep_info(&wasm.with_extension("d"));
        if let Some(pkg) = metadata
            .workspace_packages()
            .into_iter()
            .find(|w| w.name.as_str() == *p)
        {
            inputs.push(pkg.manifest_path.clone().into_std_path_buf());
        }
        let root = metadata.workspace_root.as_std_path();
        inputs.push(root.join("Cargo.toml"));
        if root.join("Cargo.lock").is_file() {
            inputs.push(root.join("Cargo.lock"));
        }
        inputs.sort();
        inputs.dedup();
        built.insert((*p).to_owned(), BuiltGuest { wasm, inputs });
    }
    Ok(built)
}

/// The files a cargo dep-info file (`target: dep dep …`) lists; spaces in paths are escaped
/// with a backslash. A missing file lists nothing.
fn dep_info(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Some(line) = text.lines().next() else {
        return Vec::new();
    };
    // The target itself ends at the first unescaped `: `.
    let deps = match line.find(": ") {
        Some(i) => &line[i + 2..],
        None => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ' ' => {
                if !current.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(PathBuf::from(current));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_file_with_escaped_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("greeter.d");
        std::fs::write(
            &d,
            "/t/greeter.wasm: /src/lib.rs /my\\ dir/greet.wit\n\n/src/lib.rs:\n",
        )
        .unwrap();
        assert_eq!(
            dep_info(&d),
            vec![
                PathBuf::from("/src/lib.rs"),
                PathBuf::from("/my dir/greet.wit")
            ]
        );
        assert!(dep_info(&dir.path().join("missing.d")).is_empty());
    }
}
