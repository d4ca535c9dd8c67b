//! Imports a greeter and exports one that signs its greetings: `Hello, World! [hmac-sha256:…]`,
//! an HMAC-SHA256 of the greeting made by the host with the secret token `greeting-key`. The
//! guest holds only the token; the key stays with the host.

mod bindings {
    wit_bindgen::generate!({
        path: ["../wit", "../../../wit/std-secrets"],
        inline: "
            package example:signer;
            world signer {
                import std:secrets/store@1.0.0;
                import std:secrets/operations@1.0.0;
                import example:greet/greeter@1.0.0;
                export example:greet/greeter@1.0.0;
            }
        ",
        world: "example:signer/signer",
        generate_all,
    });
}

use bindings::example::greet::greeter;
use bindings::exports::example::greet::greeter::Guest;
use bindings::std::secrets::operations::{self, Algorithm};
use bindings::std::secrets::store::Token;

/// The token the plan must define and grant.
const KEY: &str = "greeting-key";

struct Signer;

impl Guest for Signer {
    fn greet(name: String) -> String {
        let greeting = greeter::greet(&name);
        let signature = Token::open(KEY).and_then(|key| {
            operations::sign(&key, Algorithm::HmacSha256, greeting.as_bytes())
        });
        match signature {
            Ok(mac) => {
                let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
                format!("{greeting} [hmac-sha256:{hex}]")
            }
            Err(e) => format!("{greeting} [unsigned: {e:?}]"),
        }
    }
}

bindings::export!(Signer with_types_in bindings);
