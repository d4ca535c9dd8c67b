//! A policy probe: a `wasi:cli/run` command that tries one thing a deny-by-default host must
//! refuse or stop, chosen by its first argument. It prints `allowed: …` if the attempt worked
//! and `denied: …` (exit status 1: WASI 0.2 carries only success or failure) if the host refused
//! it; limits end it with a trap instead.
//!
//! - `read-file PATH`: read a file (no preopen covers it)
//! - `env NAME`: read an environment variable
//! - `tcp ADDR`: open a TCP connection
//! - `alloc`: allocate without end (memory limit)
//! - `loop`: loop forever (deadline)
//! - `sleep SECONDS`: sleep in the host (deadline, while waiting in a host call)
//! - `flood`: write to standard output without end (deadline, when nobody reads it)
//! - `recurse`: recurse without end (stack)
//! - `panic`: panic (a trap)
//! - `clock`, `random`: print the time, or a value derived from the random seed
//! - `stdin`: read standard input to its end and say how many bytes came
//!
//! With no arguments at all (as when a host calls its `wasi:cli/run` export through typed
//! bindings, which pass none) it surveys instead: `stdin`, `env MATRIX_VAR`,
//! `read-file /data/file.txt`, `clock` and `random`, one line each, `NAME: allowed: …` or
//! `NAME: denied: …`, and exits 0.

use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        let survey: [&[&str]; 5] = [
            &["stdin"],
            &["env", "MATRIX_VAR"],
            &["read-file", "/data/file.txt"],
            &["clock"],
            &["random"],
        ];
        for probe in survey {
            let args: Vec<String> = probe.iter().map(|s| s.to_string()).collect();
            match try_one(&args) {
                Ok(what) => println!("{}: allowed: {what}", probe[0]),
                Err(why) => println!("{}: denied: {why}", probe[0]),
            }
        }
        return;
    }
    match try_one(&args) {
        Ok(what) => println!("allowed: {what}"),
        Err(why) => {
            println!("denied: {why}");
            std::process::exit(1);
        }
    }
}

/// Tries what `args` name; `Ok` says what worked, `Err` why the host refused it.
fn try_one(args: &[String]) -> Result<String, String> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(0).as_str() {
        "read-file" => std::fs::read(arg(1)).map(|b| format!("read {} bytes", b.len())).map_err(|e| e.to_string()),
        "env" => std::env::var(arg(1)).map(|v| format!("{}={v}", arg(1))).map_err(|e| e.to_string()),
        "tcp" => std::net::TcpStream::connect(arg(1)).map(|_| "connected".to_owned()).map_err(|e| e.to_string()),
        "alloc" => {
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            loop {
                blocks.push(black_box(vec![1u8; 1 << 20]));
            }
        }
        "loop" => {
            let mut n = 0u64;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        "sleep" => {
            let seconds: u64 = arg(1).parse().map_err(|_| format!("`sleep` wants seconds, not `{}`", arg(1)))?;
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            Ok(format!("slept {seconds} s"))
        }
        "flood" => {
            use std::io::Write;
            let mut out = std::io::stdout();
            loop {
                out.write_all(&[b'x'; 4096]).map_err(|e| e.to_string())?;
            }
        }
        "recurse" => Ok(format!("{}", recurse(black_box(1)))),
        "panic" => panic!("the probe panics on purpose"),
        "clock" => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| format!("clock {}", d.as_nanos()))
            .map_err(|e| e.to_string()),
        "random" => {
            use std::hash::BuildHasher;
            Ok(format!("random {}", std::collections::hash_map::RandomState::new().hash_one(42u8)))
        }
        "stdin" => {
            use std::io::Read;
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map(|n| format!("read {n} bytes from stdin"))
                .map_err(|e| e.to_string())
        }
        other => Err(format!("unknown probe `{other}`")),
    }
}

/// Recursion that keeps its state in registers, so it grows the WebAssembly stack (which the
/// runtime bounds) rather than the shadow stack in linear memory; the result depends on the
/// inner call non-linearly, so it cannot become a loop.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    let r = recurse(n + 1);
    r.wrapping_mul(r) ^ n
}
