//! Code precompiled by the build helper fits the runtime's engine (both configure Wasmtime
//! with `compose-engine`), and code for another configuration is never loaded.

use compose_model::plan::Policy;

#[test]
fn the_compatibility_digest_tells_configurations_apart() {
    let plain = compose_runtime::Runtime::new(&Policy::default()).unwrap();
    let mut one = Policy::default();
    one.fuel = Some(1);
    let fueled = compose_runtime::Runtime::new(&one).unwrap();
    assert_ne!(plain.compatibility(), fueled.compatibility());
    // A SHA-256 of Wasmtime's compatibility bytes, the same for equal configurations.
    let again = compose_runtime::Runtime::new(&Policy::default()).unwrap();
    assert_eq!(plain.compatibility(), again.compatibility());
}

/// Precompiled code made for another engine configuration (its compatibility summary differs
/// from the runtime's) is never deserialized: the load compiles the embedded component instead.
/// With the right summary the same code is used, so the check is what decides.
#[test]
fn code_for_another_engine_is_not_loaded() {
    let wit = "package example:greet@1.0.0;
interface greeter { greet: func(name: string) -> string; }
world provider { export greeter; }
";
    let component: &'static [u8] = Box::leak(
        compose_wit::testing::component_from_wit(&[("greet.wit", wit)], "provider")
            .into_boxed_slice(),
    );
    let plan = compose_model::plan::from_toml(
        "name = \"greeter\"\n[components.greeter]\npath = \"greeter.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"greeter\"\n",
    )
    .unwrap();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let plan_bytes: &'static [u8] = Box::leak(plan.to_cbor().into_boxed_slice());
    let code = compose_build::precompile::precompile(component, &plan.policy, None).unwrap();
    let code_bytes: &'static [u8] = Box::leak(code.bytes.clone().into_boxed_slice());
    let embedded = |compatibility: &'static str| {
        compose_runtime::Embedded::new(
            "greeter",
            plan_bytes,
            leak(compose_model::Digest::of(plan_bytes).to_string()),
            component,
            leak(compose_model::Digest::of(component).to_string()),
        )
        .with_precompiled(
            code_bytes,
            leak(compose_model::Digest::of(code_bytes).to_string()),
            compatibility,
        )
    };
    let fits = embedded(leak(code.compatibility.to_string()))
        .load()
        .unwrap();
    assert!(fits.from_precompiled());
    let another_engine = compose_model::Digest::of(b"another engine").to_string();
    let other = embedded(leak(another_engine)).load().unwrap();
    assert!(!other.from_precompiled());
}
