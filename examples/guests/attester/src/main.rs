//! A `wasi:cli/run` command that asks the host for attestation evidence (`std:attest`), to show
//! (and test) what a guest gets. A verifier gives it a nonce; it passes the report's evidence
//! on (stdout, byte for byte) for `composectl attest verify-evidence` to check.
//!
//! - `available`: the evidence kinds the host has, one per line
//! - `attest NONCE_HEX [KIND]`: the evidence over the nonce on stdout, and the report's other
//!   fields on stderr; KIND is `software-key`, `pkcs11`, `tpm` or `tee` (default: the host's)
//!
//! A refusal prints `error: …` on stdout and exits 1.

use std::io::Write;
use std::process::ExitCode;

use bindings::std::attest::attestation::{self, EvidenceKind};

/// In a module of its own: the WIT package's namespace, `std`, would shadow Rust's `std`.
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit/std-attest", world: "std:attest/attested" });
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(0).as_str() {
        "available" => {
            for kind in attestation::available() {
                println!("{}", name(kind));
            }
            ExitCode::SUCCESS
        }
        "attest" => {
            let Some(nonce) = unhex(&arg(1)) else {
                println!("error: the nonce is not hex");
                return ExitCode::FAILURE;
            };
            let kind = match arg(2).as_str() {
                "" => None,
                "software-key" => Some(EvidenceKind::SoftwareKey),
                "pkcs11" => Some(EvidenceKind::Pkcs11),
                "tpm" => Some(EvidenceKind::Tpm),
                "tee" => Some(EvidenceKind::Tee),
                other => panic!("unknown evidence kind `{other}`"),
            };
            match attestation::attest(&nonce, kind) {
                Ok(report) => {
                    eprintln!(
                        "kind={} format={} plan={} component={}",
                        name(report.kind),
                        report.format,
                        report.plan_digest,
                        report.component_digest
                    );
                    std::io::stdout().write_all(&report.evidence).unwrap();
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("error: {e:?}");
                    ExitCode::FAILURE
                }
            }
        }
        other => panic!("unknown command `{other}`"),
    }
}

fn name(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::SoftwareKey => "software-key",
        EvidenceKind::Pkcs11 => "pkcs11",
        EvidenceKind::Tpm => "tpm",
        EvidenceKind::Tee => "tee",
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}
