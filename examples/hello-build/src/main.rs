//! `cargo run -p hello-build -- World` prints `Hello, World!`: the same composition as
//! `hello-cli`, made by `build.rs` from `compose.toml` instead of by `compose!`.

compose_runtime::include_composed!("hello");

fn main() -> std::process::ExitCode {
    Hello::main()
}
