//! Records the target triple this crate is compiled for, which the runtime compares with the
//! one precompiled code was made for (Cargo tells only build scripts the target).

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=COMPOSE_ENGINE_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
