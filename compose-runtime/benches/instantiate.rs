//! Instantiation time per instance of a composed component (`app → greeter`), with
//! `InstancePre` (linking done once), on the default (on-demand) allocator and on the pooling
//! allocator. `cargo xtask bench` records the figures.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
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

fn bench(c: &mut Criterion) {
    let bytes = composed();
    let mut g = c.benchmark_group("instantiate");
    for (name, pooling) in [("default", false), ("pooling", true)] {
        let mut config = Config::new();
        if pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(100)
                .total_core_instances(1000)
                .total_memories(1000)
                .total_tables(1000);
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
                pre.instantiate(&mut store).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
