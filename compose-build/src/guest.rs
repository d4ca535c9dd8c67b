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
    // Absolute, since cargo runs in the workspace's folder, not ours.
    let manifest = &absolute(manifest);
    let target_dir = &absolute(target_dir);
    let cargo = guest_cargo();
    let dir = workspace_dir(manifest);
    let mut metadata = MetadataCommand::new();
    metadata
        .cargo_path(&cargo)
        .current_dir(&dir)
        .manifest_path(manifest)
        .no_deps();
    for var in TOOLCHAIN_OVERRIDES {
        metadata.env_remove(var);
    }
    let metadata = metadata.exec().map_err(|e| GuestBuildError::Workspace {
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
    let mut cmd = Command::new(&cargo);
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
    // In the guest workspace, so that rustup picks the toolchain its `rust-toolchain.toml`
    // names, not the one of the folder `composectl` happens to run in.
    .current_dir(&dir)
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
    for var in TOOLCHAIN_OVERRIDES {
        cmd.env_remove(var);
    }
    for p in packages {
        cmd.args(["--package", p]);
    }
    let mut child = cmd.spawn().map_err(GuestBuildError::Cargo)?;
    // Cargo's progress ("Compiling greeter …") goes on to our stderr as it comes, so a long
    // first build shows what it is doing; the whole output (compiler messages too) is kept
    // for the error message, which is where a failure's details are shown, once.
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
            if working && is_status(&line) {
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
        if missing_target(&stderr_text) {
            return Err(GuestBuildError::MissingTarget { workspace: dir });
        }
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

/// What would make the guest build use another toolchain than the guest workspace's: the
/// toolchain of a `cargo` or `rustup run` that started us (`RUSTUP_TOOLCHAIN`), the compiler a
/// build script is given (`RUSTC`).
const TOOLCHAIN_OVERRIDES: [&str; 2] = ["RUSTUP_TOOLCHAIN", "RUSTC"];

/// The cargo that builds guests: under rustup, its `cargo` proxy (which picks the guest
/// workspace's toolchain); otherwise the cargo that runs us (`CARGO`), or `cargo` on `PATH`.
fn guest_cargo() -> std::ffi::OsString {
    let rustup =
        std::env::var_os("RUSTUP_HOME").is_some() || std::env::var_os("RUSTUP_TOOLCHAIN").is_some();
    match std::env::var_os("CARGO") {
        Some(cargo) if !rustup => cargo,
        _ => "cargo".into(),
    }
}

/// The folder of the workspace's `Cargo.toml` (an absolute path).
fn workspace_dir(manifest: &Path) -> PathBuf {
    manifest
        .parent()
        .map_or_else(|| absolute(Path::new(".")), Path::to_path_buf)
}

/// `path` made absolute against the current folder (as it is, if that fails).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether a line of cargo's output is one of its status lines (`   Compiling x v0.1.0`,
/// right-aligned in 12 columns), not a compiler message.
fn is_status(line: &str) -> bool {
    let Some((head, _)) = line.split_at_checked(12) else {
        return false;
    };
    let word = head.trim_start();
    line.as_bytes().get(12) == Some(&b' ')
        && word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_alphabetic())
}

/// Whether the build failed because the toolchain lacks the `wasm32-wasip2` target (rustc then
/// cannot find `std` or `core` for it).
fn missing_target(output: &str) -> bool {
    (output.contains("can't find crate for `std`")
        || output.contains("can't find crate for `core`"))
        && output.contains("`wasm32-wasip2` target may not be installed")
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
    use compose_model::Code;

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

    #[test]
    fn status_lines_are_told_from_compiler_messages() {
        for status in [
            "   Compiling greeter v0.1.0 (/g/greeter)",
            "    Finished `release` profile [optimized] target(s) in 0.05s",
            "    Blocking waiting for file lock on build directory",
        ] {
            assert!(is_status(status), "{status}");
        }
        for message in [
            "error[E0308]: mismatched types",
            " --> src/lib.rs:4:5",
            "   |",
            "4 |     \"not a number\"",
            "For more information about this error, try `rustc --explain E0308`.",
            "",
        ] {
            assert!(!is_status(message), "{message}");
        }
    }

    #[test]
    fn a_missing_target_is_recognised_in_rustcs_words() {
        // As rustc 1.99 prints it when the toolchain lacks the target.
        let output = "   Compiling greeter v0.1.0 (/g/greeter)
error[E0463]: can't find crate for `core`
  |
  = note: the `wasm32-wasip2` target may not be installed
  = help: consider downloading the target with `rustup target add wasm32-wasip2`
";
        assert!(missing_target(output));
        assert!(missing_target(&output.replace("`core`", "`std`")));
        assert!(!missing_target("error[E0308]: mismatched types"));
        let e = GuestBuildError::MissingTarget {
            workspace: PathBuf::from("/g"),
        };
        assert_eq!(e.code(), Code::EmitGuestBuildFailed);
        let text = e.to_string();
        assert!(text.contains("`/g`") && text.contains("rustup target add wasm32-wasip2"));
        assert!(!text.contains('\n'), "one line: {text}");
    }
}
