//! Code precompiled by the build helper fits the runtime's engine, for every policy that
//! changes the engine's configuration; the runtime's own engine config and compose-build's copy
//! must not drift apart.

use compose_model::plan::Policy;

#[test]
fn the_build_helper_and_the_runtime_configure_wasmtime_alike() {
    let mut fuel = Policy::default();
    fuel.fuel = Some(1_000_000);
    for policy in [Policy::default(), fuel] {
        let runtime = compose_runtime::Runtime::new(&policy).unwrap();
        let build =
            wasmtime::Engine::new(&compose_build::precompile::engine_config(&policy)).unwrap();
        assert_eq!(
            runtime.compatibility(),
            compose_build::precompile::compatibility(&build),
            "{policy:?}"
        );
    }
    // And the summary does tell configurations apart.
    let plain = compose_runtime::Runtime::new(&Policy::default()).unwrap();
    let mut one = Policy::default();
    one.fuel = Some(1);
    let fueled = compose_runtime::Runtime::new(&one).unwrap();
    assert_ne!(plain.compatibility(), fueled.compatibility());
}
