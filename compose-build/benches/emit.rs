//! `compose_build::emit` in-process, as a build script or `compose!` calls it: the
//! two-component example (`app → greeter`), cold (the cache not consulted, as
//! `composectl emit build --no-cache`) and on a cache hit. No process is started, so these
//! figures are what a build pays, where `composectl emit build`'s include starting a process.
//! `cargo xtask bench-exec` records them beside the whole-command figures.

use std::path::Path;

use compose_build::{BlobStore, EmitOptions, emit};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = compose_build::build_guests(
        &root.join("examples/guests/Cargo.toml"),
        &["greeter", "app"],
        &root.join("target/guests"),
    )
    .expect("the example guests build");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("hello.toml");
    std::fs::write(
        &plan,
        format!(
            "[components.greeter]\npath = {:?}\nexports = [\"example:greet/greeter\"]\n[components.app]\npath = {:?}\nexports = [\"wasi:cli/run\"]\nimports = {{ \"example:greet/greeter\" = \"greeter\" }}\ncapabilities = {{ stdio = \"required\", args = \"required\" }}\n[exports]\n\"wasi:cli/run\" = \"app\"\n[grants]\nstdio = true\nargs = true\n",
            built["greeter"].display().to_string(),
            built["app"].display().to_string()
        ),
    )
    .unwrap();
    let store = BlobStore::new(dir.path().join("cache"));
    let cold = EmitOptions::default().cache(store.clone(), false);
    let hit = EmitOptions::default().cache(store, true);
    let first = emit(&plan, &cold).expect("the example composes");
    assert!(!first.cached);
    assert!(
        emit(&plan, &hit).unwrap().cached,
        "the second emit is a cache hit"
    );

    let mut g = c.benchmark_group("emit");
    g.bench_function("cold", |b| b.iter(|| emit(&plan, &cold).unwrap()));
    g.bench_function("cache-hit", |b| b.iter(|| emit(&plan, &hit).unwrap()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
