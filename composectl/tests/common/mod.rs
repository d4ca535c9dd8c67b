//! Helpers shared by composectl's tests.

use std::path::{Path, PathBuf};

/// The example guest `name`, built once per test binary into the shared `target/guests`.
pub fn guest(name: &'static str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(&'static str, PathBuf)>> =
        std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, p)) = built.iter().find(|(n, _)| *n == name) {
        return p.clone();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = compose_build::build_guests(
        &root.join("examples/guests/Cargo.toml"),
        &[name],
        &root.join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .remove(name)
    .expect("the guest was built");
    built.push((name, path.clone()));
    path
}

/// The probe guest.
pub fn probe() -> PathBuf {
    guest("probe")
}
