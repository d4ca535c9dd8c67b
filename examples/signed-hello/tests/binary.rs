//! The signature the binary prints is the HMAC-SHA256 of the greeting under the key in
//! `GREETING_KEY`, and the key itself appears nowhere in the output.

use std::process::Command;

use hmac::{Hmac, Mac};

const BIN: &str = env!("CARGO_BIN_EXE_signed-hello");

fn run(key: Option<&str>) -> (String, String, Option<i32>) {
    let mut c = Command::new(BIN);
    c.arg("World").env_clear();
    if let Some(k) = key {
        c.env("GREETING_KEY", k);
    }
    let o = c.output().unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

#[test]
fn greetings_are_signed_with_the_hosts_key() {
    const KEY: &str = "greeting-Key-1234";
    let (out, err, code) = run(Some(KEY));
    assert_eq!(code, Some(0), "{err}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(b"Hello, World!");
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(out, format!("Hello, World! [hmac-sha256:{hex}]\n"));
    assert!(!out.contains(KEY) && !err.contains(KEY));

    // Another key, another signature.
    let (other, _, _) = run(Some("another key"));
    assert_ne!(other, out);

    // No key on this host: the signer reports it and the greeting goes out unsigned.
    let (out, err, code) = run(None);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("Hello, World! [unsigned: Error::Backend(")
            && out.contains("no variable `GREETING_KEY`"),
        "{out}"
    );
}
