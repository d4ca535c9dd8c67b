//! Exports `example:greet/greeter` like `greeter`, and appends one `std:audit` record per
//! greeting (`greet`, subject the name): a service whose every request is audited, for the
//! serve benchmark with audit on. A greeting is made whether or not the record was kept.

/// In a module of its own: the WIT package's namespace, `std`, would shadow Rust's `std`.
mod bindings {
    wit_bindgen::generate!({
    path: ["../wit", "../../../wit/std-audit"],
    inline: "
        package example:audited-greeter;
        world audited-greeter {
            import std:audit/log@1.0.0;
            export example:greet/greeter@1.0.0;
        }
    ",
    world: "example:audited-greeter/audited-greeter",
    generate_all,
    pub_export_macro: true,
    });
}

use bindings::exports::example::greet::greeter::Guest;
use bindings::std::audit::log::{Entry, Outcome, append};

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        let greeting = format!("Hello, {name}!");
        let _ = append(&Entry {
            action: "greet".into(),
            subject: name,
            outcome: Outcome::Success,
            attributes: Vec::new(),
        });
        greeting
    }
}

bindings::export!(Greeter with_types_in bindings);
