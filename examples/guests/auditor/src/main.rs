//! A `wasi:cli/run` command that appends records of its own to the host's audit log
//! (`std:audit`), to show (and test) what a guest may record and what the host refuses.
//!
//! - `append ACTION SUBJECT [NAME=VALUE…]`: one record; prints its index in the log
//! - `many N`: N records (`test.many`, subject `i`); prints how many were kept and how many
//!   refused, then exits 0
//! - `big BYTES`: one record whose subject has BYTES bytes
//!
//! A refusal prints `error: …` on stdout and exits 1.

use std::process::ExitCode;

use bindings::std::audit::log::{self, Entry, Outcome};

/// In a module of its own: the WIT package's namespace, `std`, would shadow Rust's `std`.
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit/std-audit", world: "std:audit/audited" });
}

fn entry(action: &str, subject: String, attributes: Vec<(String, String)>) -> Entry {
    Entry {
        action: action.to_owned(),
        subject,
        outcome: Outcome::Success,
        attributes,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let result = match arg(0).as_str() {
        "append" => {
            let attributes = args
                .iter()
                .skip(3)
                .map(|a| {
                    let (k, v) = a.split_once('=').unwrap_or((a, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            log::append(&entry(&arg(1), arg(2), attributes)).map(|i| println!("{i}"))
        }
        "many" => {
            let n: u32 = arg(1).parse().expect("a count");
            let (mut kept, mut refused) = (0, 0);
            for i in 0..n {
                match log::append(&entry("test.many", i.to_string(), Vec::new())) {
                    Ok(_) => kept += 1,
                    Err(_) => refused += 1,
                }
            }
            println!("kept={kept} refused={refused}");
            Ok(())
        }
        "big" => {
            let n: usize = arg(1).parse().expect("a size");
            log::append(&entry("test.big", "x".repeat(n), Vec::new())).map(|i| println!("{i}"))
        }
        other => panic!("unknown command `{other}`"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e:?}");
            ExitCode::FAILURE
        }
    }
}
