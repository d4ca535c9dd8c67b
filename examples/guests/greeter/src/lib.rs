//! Exports `example:greet/greeter`: `greet("World")` is `Hello, World!`.

wit_bindgen::generate!({ path: "../wit", world: "greeter-provider" });

struct Greeter;

impl exports::example::greet::greeter::Guest for Greeter {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
}

export!(Greeter);
