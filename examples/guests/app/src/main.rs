//! A `wasi:cli/run` command: prints the imported greeter's greeting for its first argument
//! (`World` without one).

wit_bindgen::generate!({ path: "../wit", world: "greeter-user" });

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "World".to_owned());
    println!("{}", example::greet::greeter::greet(&name));
}
