//! The binary made through `build.rs` runs the composition it embeds.

#[test]
fn prints_the_greeting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hello-build"))
        .arg("Builder")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, Builder!\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

/// What `build.rs` printed for cargo (kept next to `OUT_DIR` as `output`): a
/// `cargo:rerun-if-changed` line for the plan, every guest source, the WIT the guests read and
/// their manifests, so editing any of them rebuilds this crate, and nothing else does.
#[test]
fn the_build_script_watches_every_input() {
    let output = std::path::Path::new(env!("OUT_DIR")).join("../output");
    let printed =
        std::fs::read_to_string(&output).unwrap_or_else(|e| panic!("{}: {e}", output.display()));
    let watched: Vec<String> = printed
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .map(|p| p.replace('\\', "/"))
        .collect();
    for want in [
        "hello-build/compose.toml",
        "guests/greeter/src/lib.rs",
        "guests/app/src/main.rs",
        "guests/wit/greet.wit",
        "guests/greeter/Cargo.toml",
        "guests/app/Cargo.toml",
        "guests/Cargo.lock",
    ] {
        assert!(
            watched.iter().any(|w| w.ends_with(want)),
            "{want} is not watched; {} printed:\n{printed}",
            output.display()
        );
    }
    // Only files: a watched folder would rebuild on any change inside it (e.g. `target/`).
    for w in &watched {
        assert!(std::path::Path::new(w).is_file(), "{w} is not a file");
    }
}
