//! `cargo run -p typed-api -- Rust` prints `*** Hello, Rust! ***`: the composition exports
//! `example:greet/greeter` (the formatter, wired to the greeter), and Rust calls its `greet`
//! through methods generated from the composed component's WIT.

compose_runtime::compose! {
    name: "framed-greeter",
    workspace: "../guests",
    components: {
        greeter: { crate: "greeter", exports: ["example:greet/greeter"] },
        formatter: {
            crate: "formatter",
            exports: ["example:greet/greeter"],
            imports: { "example:greet/greeter": greeter },
        },
    },
    exports: { "example:greet/greeter": formatter },
    policy: { timeout-ms: 1000 },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "World".into());
    let mut greeter = FramedGreeter::instantiate()?;
    let greeting = greeter
        .exports
        .example_greet_greeter()
        .call_greet(&mut greeter.store, &name)?;
    println!("{greeting}");
    Ok(())
}
