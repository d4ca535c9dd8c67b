//! Instantiation time per instance of a composed component (`app → greeter`), with
//! `InstancePre` (linking done once): the runtime's engine configuration on the default
//! (on-demand) allocator, on the pooling allocator with Wasmtime's default slot resets, and on
//! the pooling configuration `exec serve` uses (`compose_runtime::pooling_config`). Each
//! iteration makes a store, instantiates, and drops the store (so the slot's reset is counted
//! too). Beside them, the floor: Wasmtime alone instantiating a component of one core module
//! and no imports on the pooling configuration (the composition has six).
//! `cargo xtask bench-exec` records the figures.

use std::path::Path;

use compose_model::plan::Policy;
use compose_runtime::{engine_config, pooling_config};
use criterion::{Criterion, criterion_group, criterion_main};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn composed() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = compose_build::build_guests(
        &root.join("examples/guests/Cargo.toml"),
        &["greeter", "app"],
        &root.join("target/guests"),
    )
    .unwrap();
    let plan = compose_model::plan::from_toml(&format!(
        "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.app]\npath = {:?}\nexports = [\"wasi:cli/run\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\n[exports]\n\"wasi:cli/run\" = \"app\"\n",
        built["greeter"].display().to_string(),
        built["app"].display().to_string()
    ))
    .unwrap();
    compose_build::emit_plan(
        &plan,
        Path::new("."),
        &compose_build::EmitOptions::default(),
    )
    .unwrap()
    .bytes
}

/// The same pool sizes as `pooling_config`, with Wasmtime's default slot resets.
fn wasmtime_defaults(instances: u32, policy: &Policy) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances * 16)
        .total_memories(instances * 4)
        .total_tables(instances * 8)
        .total_stacks(instances);
    if let Some(m) = policy.memory {
        pool.max_memory_size(m as usize);
    }
    pool
}

fn bench(c: &mut Criterion) {
    let bytes = composed();
    let mut g = c.benchmark_group("instantiate");
    let policy = Policy::default();
    let instances = 100;
    for (name, pooling) in [
        ("default", None),
        (
            "pooling-wasmtime-defaults",
            Some(wasmtime_defaults(instances, &policy)),
        ),
        ("pooling", Some(pooling_config(instances, &policy))),
    ] {
        let mut config = engine_config(&policy);
        if let Some(pool) = pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).unwrap();
        let component = Component::new(&engine, &bytes).unwrap();
        let mut linker: Linker<Host> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        let pre = linker.instantiate_pre(&component).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut store = Store::new(
                    &engine,
                    Host {
                        wasi: WasiCtx::builder().build(),
                        table: ResourceTable::new(),
                    },
                );
                // The runtime's engine interrupts on epochs; give the store a deadline as
                // `exec` does.
                store.set_epoch_deadline(1_000_000);
                pre.instantiate(&mut store).unwrap()
            })
        });
    }
    // The floor under the figures above: Wasmtime instantiating a component of one core
    // module (a memory, one function, no imports) on the same pooling configuration. The
    // composition instantiates six core modules (each guest's code and two small shims).
    let engine = Engine::new(engine_config(&policy).allocation_strategy(
        InstanceAllocationStrategy::Pooling(pooling_config(instances, &policy)),
    ))
    .unwrap();
    let one = Component::new(&engine, wat::parse_str(ONE_MODULE).unwrap()).unwrap();
    let pre = Linker::<()>::new(&engine).instantiate_pre(&one).unwrap();
    g.bench_function("pooling-one-core-module", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(1_000_000);
            pre.instantiate(&mut store).unwrap()
        })
    });
    g.finish();
}

/// A component of one core module: a memory of one page and one exported function.
const ONE_MODULE: &str = r#"(component
    (core module $m (memory (export "memory") 1) (func (export "f") (result i32) i32.const 1))
    (core instance $i (instantiate $m))
    (func (export "f") (result u32) (canon lift (core func $i "f"))))"#;

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
