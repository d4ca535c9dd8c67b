//! The `hello-cli` binary is self-contained and refuses to run altered embedded bytes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_hello-cli");

/// Held while a test writes an executable and starts it.
///
/// Tests run on several threads of one process. A child forked by one test inherits every file
/// descriptor open at that moment, including another test's executable still open for writing,
/// and Linux refuses to run a file open for writing ("Text file busy"). `spawn` returns only once
/// the child has replaced itself with the new program (closing those descriptors), so holding
/// this lock from the write through the spawn keeps the two apart.
static WRITE_AND_SPAWN: Mutex<()> = Mutex::new(());

/// Copies the binary alone into an empty folder and runs it there with an empty environment.
fn run_alone(binary: &[u8], args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("hello-cli");
    let child = {
        let _guard = WRITE_AND_SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        std::fs::write(&exe, binary).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Command::new(&exe)
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    child.wait_with_output().unwrap()
}

/// The macro's output folder for this composition (the one whose component is embedded).
fn outputs(binary: &[u8]) -> PathBuf {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/compose/out");
    std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("Hello-")
        })
        .find(|p| std::fs::read(p.join("component.wasm")).is_ok_and(|c| find(binary, &c).is_some()))
        .expect("the embedded component is one of the macro's outputs")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The binary with one byte flipped in the middle of the embedded `file`.
fn tampered(binary: &[u8], file: &Path) -> Vec<u8> {
    let embedded = std::fs::read(file).unwrap();
    let at = find(binary, &embedded).expect("the file is embedded") + embedded.len() / 2;
    let mut copy = binary.to_vec();
    copy[at] ^= 0x55;
    copy
}

#[test]
fn runs_alone_in_an_empty_folder_with_no_environment() {
    let binary = std::fs::read(BIN).unwrap();
    let out = run_alone(&binary, &["World"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, World!\n");
    // No warning: the precompiled code fitted and nothing was compiled at start.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_altered_embedded_component_is_refused_before_running() {
    let binary = std::fs::read(BIN).unwrap();
    let bad = tampered(&binary, &outputs(&binary).join("component.wasm"));
    let out = run_alone(&bad, &["World"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("E0509"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// Like an altered plan or component, with or without a compiler (compose-runtime's `jit`,
/// on in a workspace build, off in `cargo test-lean`): the binary refuses to run.
#[test]
fn altered_precompiled_code_is_refused_before_running() {
    let binary = std::fs::read(BIN).unwrap();
    let bad = tampered(&binary, &outputs(&binary).join("component.cwasm"));
    let out = run_alone(&bad, &["World"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("E0509"), "{stderr}");
    assert!(stderr.contains("precompiled code"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// The binary packs its relative relocations (`.cargo/config.toml`): the loader reads a few
/// kilobytes of them at each start, not hundreds (README, "Packed relocations").
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn its_relative_relocations_are_packed() {
    use object::{Object, ObjectSection};
    let binary = std::fs::read(BIN).unwrap();
    let file = object::File::parse(&*binary).unwrap();
    let packed = file.section_by_name(".relr.dyn").map_or(0, |s| s.size());
    let unpacked = file.section_by_name(".rela.dyn").map_or(0, |s| s.size());
    assert!(packed > 0, "no packed relocations (.relr.dyn)");
    assert!(
        unpacked < 64 << 10,
        ".rela.dyn holds {unpacked} bytes: the relative relocations were not packed"
    );
}
