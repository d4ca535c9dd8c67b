//! A `wasi:cli/run` command that uses a `std:secrets` token as its arguments say, to show (and
//! test) what a guest can and cannot do with one. It prints `ok: …` on success and
//! `error: …` (exit status 1) when the host refuses.
//!
//! - `open TOKEN`: open the token
//! - `sign TOKEN DATA`: HMAC-SHA256 of `DATA` with the secret, in hex
//! - `sign-ecdsa TOKEN DATA`: an ECDSA P-256 signature of `DATA` (DER, in hex), for keys held
//!   in a PKCS#11 token
//! - `sign-ed25519 TOKEN DATA`: an algorithm the built-in backends do not offer
//! - `reveal TOKEN`: the secret's value in clear (only where the host allows it)
//! - `header TOKEN AUTHORITY`: attach the secret to outgoing HTTP to `AUTHORITY`
//! - `open-many N TOKEN`: try to open the token N times (each refusal is a host audit record)

use std::process::ExitCode;

use bindings::std::secrets::operations::{self, Algorithm};
use bindings::std::secrets::store::Token;

/// In a module of its own: the WIT package's namespace, `std`, would shadow Rust's `std`.
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit/std-secrets", world: "std:secrets/secret-user" });
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    if arg(0) == "open-many" {
        let n: u32 = arg(1).parse().expect("a count");
        let opened = (0..n).filter(|_| Token::open(&arg(2)).is_ok()).count();
        println!("ok: opened {opened} of {n}");
        return ExitCode::SUCCESS;
    }
    let result = Token::open(&arg(1)).and_then(|token| match arg(0).as_str() {
        "open" => Ok(format!("opened {}", token.name())),
        "sign" => {
            operations::sign(&token, Algorithm::HmacSha256, arg(2).as_bytes()).map(|mac| hex(&mac))
        }
        "sign-ecdsa" => {
            operations::sign(&token, Algorithm::EcdsaP256Sha256, arg(2).as_bytes()).map(|s| hex(&s))
        }
        "sign-ed25519" => {
            operations::sign(&token, Algorithm::Ed25519, arg(2).as_bytes()).map(|s| hex(&s))
        }
        "reveal" => token
            .reveal()
            .map(|v| format!("revealed {}", String::from_utf8_lossy(&v))),
        "header" => operations::add_http_header(&token, &arg(2), "authorization", Some("Bearer"))
            .map(|()| format!("header added for {}", arg(2))),
        other => panic!("unknown command `{other}`"),
    });
    match result {
        Ok(out) => {
            println!("ok: {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
