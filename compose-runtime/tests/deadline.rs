//! A plan's deadline (`policy.timeout-ms`) stops a typed call too, after the `Runtime` that
//! made the instance is gone (a `compose!` type's `instantiate()` keeps only the store): the
//! epoch ticker lives as long as the engine, not the runtime. And it stops a typed call that
//! waits in a host call, where epoch interruption cannot reach.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use compose_model::plan;
use compose_runtime::{HostPolicy, Runtime};

/// A component whose `spin` export never returns.
const SPIN: &str = r#"(component
  (core module $m (func (export "spin") (loop (br 0))))
  (core instance $i (instantiate $m))
  (func (export "spin") (canon lift (core func $i "spin"))))"#;

#[test]
fn a_typed_call_stops_at_the_deadline_after_the_runtime_is_dropped() {
    let component = wat::parse_str(SPIN).unwrap();
    // A plan of one component (its bytes are given here, not read from the path).
    let p = plan::from_toml(
        "[components.spin]\npath = \"spin.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"spin\"\n[policy]\ntimeout-ms = 200\n",
    )
    .unwrap();
    let (mut store, instance) = {
        let rt = Runtime::new(&p.policy).unwrap();
        let compiled = rt.compile(&component).unwrap().0;
        rt.instantiate(&p, &compiled, &HostPolicy::default())
            .unwrap()
        // `rt` is dropped here.
    };
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        let result = spin.call(&mut store, ());
        let _ = tx.send((
            result.map_err(|e| e.downcast::<wasmtime::Trap>().ok()),
            start.elapsed(),
        ));
    });
    // If the deadline never came, the call would spin forever: give it 20 s.
    let (result, took) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the call was not stopped at its deadline");
    assert_eq!(result.unwrap_err(), Some(wasmtime::Trap::Interrupt));
    assert!(took >= Duration::from_millis(150), "{took:?}");
}

/// A component whose `sleep` export sleeps an hour on a `wasi:clocks/monotonic-clock` pollable.
const SLEEP: &str = r#"(component
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type (sub resource)))
    (export "[method]pollable.block" (func (param "self" (borrow 0))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
    (alias outer 1 $pollable (type $p))
    (export "pollable" (type $exported (eq $p)))
    (export "subscribe-duration" (func (param "when" u64) (result (own $exported))))))
  (core func $subscribe (canon lower (func $clock "subscribe-duration")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))
  (core module $m
    (import "host" "subscribe" (func $subscribe (param i64) (result i32)))
    (import "host" "block" (func $block (param i32)))
    (func (export "sleep")
      (call $block (call $subscribe (i64.const 3600000000000)))))
  (core instance $i (instantiate $m
    (with "host" (instance
      (export "subscribe" (func $subscribe))
      (export "block" (func $block))))))
  (func (export "sleep") (canon lift (core func $i "sleep"))))"#;

#[test]
fn a_typed_call_waiting_in_the_host_stops_at_the_deadline() {
    let component = wat::parse_str(SLEEP).unwrap();
    let p = plan::from_toml(
        "[components.sleep]\npath = \"sleep.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"sleep\"\n[policy]\ntimeout-ms = 200\n",
    )
    .unwrap();
    let rt = Runtime::new(&p.policy).unwrap();
    let compiled = rt.compile(&component).unwrap().0;
    let (mut store, instance) = rt
        .instantiate(&p, &compiled, &HostPolicy::default())
        .unwrap();
    let sleep = instance
        .get_typed_func::<(), ()>(&mut store, "sleep")
        .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        let result = sleep.call(&mut store, ());
        let _ = tx.send((result, start.elapsed()));
    });
    // Without a bound on the wait the call would sleep for an hour: give it 20 s.
    let (result, took) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the wait in the host was not stopped at the deadline");
    let err = result.unwrap_err();
    assert_eq!(
        err.downcast_ref::<wasmtime::Trap>(),
        Some(&wasmtime::Trap::Interrupt),
        "{err:?}"
    );
    assert!(
        format!("{err:?}").contains("`wasi:io/poll.pollable.block`"),
        "{err:?}"
    );
    assert!(took >= Duration::from_millis(150), "{took:?}");
}
