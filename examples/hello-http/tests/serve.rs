//! The `compose!` binary serves its embedded composition and shuts down gracefully.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// Starts the binary on a free port; returns it and its address.
fn start() -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hello-http"))
        .arg("127.0.0.1:0")
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server starts").unwrap();
        // The precompiled code loads into the pooling engine: nothing is compiled at start
        // (which a build without compose-runtime's `jit` could not do at all).
        assert!(!line.contains("warning"), "{line}");
        if let Some(rest) = line.strip_prefix("serving http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    // Keep draining the log so the server never blocks writing it.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn signal(child: &std::process::Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn serves_greetings_and_stops_on_sigterm() {
    let (mut child, addr) = start();
    let reply = get(&addr, "/hello/World");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("Hello, World!"), "{reply}");
    assert!(get(&addr, "/panic").starts_with("HTTP/1.1 500"));
    assert!(get(&addr, "/hello/again").contains("Hello, again!"));
    signal(&child, "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn stops_on_sigint_too() {
    let (mut child, addr) = start();
    assert!(get(&addr, "/hello/x").contains("Hello, x!"));
    signal(&child, "INT");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
