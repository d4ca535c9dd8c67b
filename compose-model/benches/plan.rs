//! Canonical CBOR versus plain ciborium on a large plan (1,000 components), and the time to
//! read and check that plan. `cargo xtask bench` runs this and records the ratios.

use std::hint::black_box;

use compose_model::cbor;
use compose_model::plan::{self, Binding, Component, Plan, Source, Wire};
use criterion::{Criterion, criterion_group, criterion_main};

/// A plan of `n` components in a chain: each imports the previous one's interface.
fn large_plan(n: usize) -> Plan {
    let mut toml = String::from(
        "schema = 1\nname = \"large\"\n\n[grants]\nstdio = true\nenv = [\"HOME\"]\n\n",
    );
    for i in 0..n {
        toml.push_str(&format!(
            "[components.c{i}]\npath = \"components/c{i}.wasm\"\ndigest = \"{}\"\nexports = {{ \"bench:chain/link{i}@1.0.0\" = {{ wit = \"{}\" }} }}\ncapabilities = {{ stdio = \"required\", env = [\"HOME\"], clocks = \"optional\" }}\n",
            compose_model::Digest::of(format!("component {i}").as_bytes()),
            compose_model::Digest::of(format!("wit {i}").as_bytes()),
        ));
        if i > 0 {
            toml.push_str(&format!(
                "imports = {{ \"bench:chain/link{}@1.0.0\" = \"c{}\" }}\n",
                i - 1,
                i - 1
            ));
        }
        toml.push('\n');
    }
    toml.push_str(&format!(
        "[exports]\n\"bench:chain/link{}@1.0.0\" = \"c{}\"\n",
        n - 1,
        n - 1
    ));
    plan::from_toml(&toml).expect("the generated plan is valid")
}

fn bench(c: &mut Criterion) {
    let plan = large_plan(1000);
    assert!(
        matches!(&plan.components["c1"].imports["bench:chain/link0@1.0.0"], Binding::Component(w) if *w == Wire::to("c0"))
    );
    let _ = Component::new(Source::Path(String::new()));
    let canonical = plan.to_cbor();
    let mut plain = Vec::new();
    ciborium::into_writer(&plan, &mut plain).unwrap();
    let toml = plan.to_toml();

    let mut g = c.benchmark_group("plan-1000");
    g.bench_function("encode/canonical", |b| {
        b.iter(|| cbor::to_canonical_vec(black_box(&plan)).unwrap())
    });
    g.bench_function("encode/ciborium", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(plain.len());
            ciborium::into_writer(black_box(&plan), &mut out).unwrap();
            out
        })
    });
    g.bench_function("decode/canonical", |b| {
        b.iter(|| cbor::decode(black_box(&canonical)).unwrap())
    });
    g.bench_function("decode/ciborium", |b| {
        b.iter(|| ciborium::from_reader::<ciborium::Value, _>(black_box(&plain[..])).unwrap())
    });
    g.bench_function("check", |b| {
        b.iter(|| cbor::check(black_box(&canonical)).unwrap())
    });
    g.bench_function("validate/toml", |b| {
        b.iter(|| plan::from_toml(black_box(&toml)).unwrap())
    });
    g.bench_function("validate/cbor", |b| {
        b.iter(|| plan::from_cbor(black_box(&canonical)).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
