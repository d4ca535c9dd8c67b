//! Imports a greeter and exports one that frames its greetings: `*** Hello, World! ***`.

wit_bindgen::generate!({ path: "../wit", world: "greeter-decorator" });

struct Formatter;

impl exports::example::greet::greeter::Guest for Formatter {
    fn greet(name: String) -> String {
        format!("*** {} ***", example::greet::greeter::greet(&name))
    }
}

export!(Formatter);
