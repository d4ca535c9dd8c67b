//! Helpers shared by composectl's tests.
#![allow(dead_code)] // each test binary uses some of these

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

/// Runs the built `composectl` in `dir`, with the blob store in `dir/cache`.
pub fn composectl_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_composectl"))
        .args(args)
        .current_dir(dir)
        .env("COMPOSE_CACHE_DIR", dir.join("cache"))
        .output()
        .unwrap()
}

/// The probe guest.
pub fn probe() -> PathBuf {
    guest("probe")
}

/// A SoftHSM2 token labelled `token` in `dir`, with user PIN `pin`, holding the P-256 private
/// key `key` (PKCS#8 PEM) labelled `label`, imported with `softhsm2-util` as an operator would;
/// the PEM file is removed again. Returns the config file for `SOFTHSM2_CONF`.
pub fn softhsm_token(dir: &Path, token: &str, pin: &str, label: &str, key: &str) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let util = |args: &[&str]| {
        let o = std::process::Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect(
                "the PKCS#11 tests need SoftHSM2: `apt-get install softhsm2` (.ci/run installs it)",
            );
        assert!(
            o.status.success(),
            "softhsm2-util {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    util(&[
        "--init-token",
        "--free",
        "--label",
        token,
        "--pin",
        pin,
        "--so-pin",
        "5678",
    ]);
    let pem = dir.join("imported-key.pem");
    std::fs::write(&pem, key).unwrap();
    util(&[
        "--import",
        pem.to_str().unwrap(),
        "--token",
        token,
        "--label",
        label,
        "--id",
        "01",
        "--pin",
        pin,
    ]);
    std::fs::remove_file(&pem).unwrap();
    conf
}

/// sigstore-js's verdict (Sigstore's JavaScript verifier, `compose-trust/tests/sigstore-js`)
/// on `bundle` for `artifact` with the public key `key`, files in `dir`: an implementation
/// other than ours reading the provenance bundle.
pub fn sigstore_js(dir: &Path, bundle: &str, artifact: &str, key: &str) -> Result<(), String> {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose-trust/tests/sigstore-js");
    assert!(
        js.join("node_modules/@sigstore/verify").is_dir(),
        "this test needs sigstore-js: `npm ci --prefix {}` (.ci/run does it)",
        js.display()
    );
    let o = std::process::Command::new("node")
        .arg(js.join("verify.js"))
        .args([bundle, artifact, key])
        .current_dir(dir)
        .output()
        .expect("node (Node.js) runs sigstore-js");
    let out = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    match (o.status.success(), out.as_str()) {
        (true, "OK") => Ok(()),
        _ => Err(format!("{out} {}", String::from_utf8_lossy(&o.stderr))),
    }
}
