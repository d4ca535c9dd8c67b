//! The precompiled code runs where it lies in the binary (x86-64 Linux), for the process's first
//! load of it: alone in this file, so that this test is that first load.

#![cfg(not(feature = "bench-without-compose"))]

// The same plan as `src/main.rs`'s, from its file.
compose_runtime::compose!(path = "../guests/hello.toml", type = Hello);

#[test]
fn the_first_load_runs_the_code_in_place_and_later_ones_copy_it() {
    let first = Hello::load().unwrap();
    assert!(first.from_precompiled());
    assert_eq!(
        first.code_in_place(),
        cfg!(all(target_arch = "x86_64", target_os = "linux"))
    );
    // A second load while the first is alive: Wasmtime registers code by address, so it copies.
    let second = Hello::load().unwrap();
    assert!(second.from_precompiled() && !second.code_in_place());
    assert_eq!(first.run(&["first"]).unwrap(), 0);
    assert_eq!(second.run(&["second"]).unwrap(), 0);
    drop(first);
    // Claimed once per process: even after the first is gone, loads copy.
    let third = Hello::load().unwrap();
    assert!(!third.code_in_place());
    assert_eq!(third.run(&["third"]).unwrap(), 0);
}
