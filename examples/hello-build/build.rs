//! Composes `compose.toml` at build time; `include_composed!("hello")` in `main.rs` then
//! defines the `Hello` type. The guest crates come from the `examples/guests` workspace.

fn main() {
    compose_build::Config::new()
        .workspace("../guests")
        .compile("compose.toml");
}
