//! Canonical ids for every interface of the WASI 0.2 packages that wasmtime-wasi-http vendors
//! (wasi:io, clocks, random, filesystem, sockets, cli, http), per package and all at once.
//!
//! `cargo xtask bench` sets `COMPOSE_WASI_WIT` to that crate's `wit/` folder; run by hand, set it
//! yourself.

use std::hint::black_box;
use std::path::PathBuf;

use compose_wit::{Item, Wit};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("COMPOSE_WASI_WIT").map(PathBuf::from) else {
        eprintln!("COMPOSE_WASI_WIT is not set; run `cargo xtask bench`, which finds the WASI WIT");
        return;
    };
    let wit = Wit::from_path(&dir).expect("the WASI WIT parses");
    let resolve = wit.resolve();
    let mut g = c.benchmark_group("wasi-ids");
    let mut all = Vec::new();
    for (_, pkg) in resolve.packages.iter() {
        if pkg.name.namespace != "wasi" {
            continue;
        }
        let ifaces: Vec<_> = pkg.interfaces.values().copied().collect();
        all.extend(ifaces.iter().copied());
        let name = format!("{}:{}", pkg.name.namespace, pkg.name.name);
        eprintln!("{name}: {} interfaces", ifaces.len());
        g.bench_function(&name, |b| {
            b.iter(|| {
                ifaces
                    .iter()
                    .map(|i| wit.id(Item::Interface(*i)))
                    .collect::<Vec<_>>()
            })
        });
    }
    eprintln!("all of WASI: {} interfaces", all.len());
    g.bench_function("all", |b| {
        b.iter(|| {
            all.iter()
                .map(|i| wit.id(Item::Interface(black_box(*i))))
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| Wit::from_path(black_box(&dir)).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
