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
