//! `hello-cli` as a user's crate builds it (alone, compose-runtime's default features) does not
//! link Wasmtime's compiler: the binary runs the code precompiled into it.

use std::process::Command;

/// The packages `package` links (normal dependencies, not the macro's nor build scripts'), as
/// Cargo resolves them when `package` is built alone.
fn linked(package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--locked", "-p", package])
        .args(["--edges", "normal,no-proc-macro", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn built_alone_it_links_wasmtime_without_its_compiler() {
    let hello = linked("hello-cli");
    assert!(hello.contains("wasmtime v50"), "{hello}");
    // (cranelift-entity and -bitset are data structures Wasmtime's runtime uses too.)
    for compiler in [
        "cranelift-codegen",
        "wasmtime-internal-cranelift",
        "cranelift-frontend",
    ] {
        assert!(
            !hello.contains(compiler),
            "hello-cli links {compiler}:\n{hello}"
        );
    }
    assert!(!hello.contains("wasm-compose"), "{hello}");
    // Nor the Sigstore verifier: hello-cli does not ask for signatures at load (compose-runtime's
    // `signatures` feature is off).
    for verifier in ["compose-trust", "sigstore-verify", "aws-lc-sys"] {
        assert!(
            !hello.contains(verifier),
            "hello-cli links {verifier}:\n{hello}"
        );
    }
    // The same question finds the compiler where it is linked on purpose.
    let composectl = linked("composectl");
    assert!(composectl.contains("cranelift-codegen"));
    assert!(composectl.contains("sigstore-verify"));
}

/// What a CLI composition does not use is not built: no HTTP server or client (compose-runtime's
/// `serve`), no OpenBao/Vault client (`vault`), no PKCS#11 (`pkcs11`), and so no TLS stack.
#[test]
fn a_cli_composition_links_no_server_vault_pkcs11_or_tls() {
    let hello = linked("hello-cli");
    let absent = [
        "hyper ",
        "wasmtime-wasi-http",
        "ureq",
        "cryptoki",
        "p256",
        "rustls",
        "ring ",
        "h2 ",
    ];
    for crate_ in absent {
        assert!(
            !hello.contains(&format!("\n{crate_}")),
            "hello-cli links {crate_}:\n{hello}"
        );
    }
    // Each is where a plan or the host asks for it, so the check can fail.
    let http = linked("hello-http");
    assert!(
        http.contains("\nhyper ") && http.contains("\nwasmtime-wasi-http "),
        "{http}"
    );
    assert!(
        !http.contains("\nureq ") && !http.contains("\ncryptoki "),
        "{http}"
    );
    let signed = linked("signed-hello");
    assert!(
        signed.contains("\nureq ") && !signed.contains("\nhyper "),
        "{signed}"
    );
    let composectl = linked("composectl");
    for crate_ in ["hyper ", "ureq ", "cryptoki "] {
        assert!(
            composectl.contains(&format!("\n{crate_}")),
            "composectl: {crate_}"
        );
    }
}
