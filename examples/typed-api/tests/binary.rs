//! The typed call reaches the composition's exported interface through both components.

#[test]
fn calls_the_exported_interface_through_typed_methods() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_typed-api"))
        .arg("Rust")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "*** Hello, Rust! ***\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.status.success());
}
