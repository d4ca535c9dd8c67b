//! A plan's deadline (`policy.timeout-ms`) stops a typed call too, after the `Runtime` that
//! made the instance is gone (a `compose!` type's `instantiate()` keeps only the store): the
//! epoch ticker lives as long as the engine, not the runtime.

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
