//! Canonical structural identity for WIT (`canon:wit`): an id `sha256:<hex>` for a package, an
//! interface or a world, computed from a canonical structural form encoded in the canonical
//! CBOR profile.
//!
//! The form keeps exactly what a component can observe — names, types, their order where order
//! matters, package names and versions — and drops everything else: comments, docs,
//! whitespace, the order of items in a package, interface or world. An interface's form holds
//! only that interface and the types it reaches through `use`, so changing one interface never
//! changes the id of an unrelated sibling. The rules are in `docs/canonical-wit.md`.
//!
//! ```
//! let wit = compose_wit::Wit::from_str("greet.wit", r#"
//!     package example:greet@1.0.0;
//!     interface greeter { greet: func(name: string) -> string; }
//! "#).unwrap();
//! let greeter = wit.find("greeter").unwrap();
//! let id = wit.id(greeter);
//! assert!(id.to_string().starts_with("sha256:"));
//! ```
#![deny(missing_docs)]

mod error;
mod form;
mod load;
mod shape;
pub mod testing;
mod wit_text;

pub use error::Error;
pub use form::{interface_form, package_form, world_form};
pub use load::{Item, Wit};
pub use shape::check_subset;

use compose_model::Digest;
use compose_model::cbor::{self, Value};

/// The version tag every canonical form carries, so a future change of the rules gives
/// different ids instead of colliding ones.
pub const CANON_VERSION: &str = "canon:wit/v1";

/// The digest of a canonical form: SHA-256 of its canonical CBOR encoding.
pub fn digest_of(form: &Value) -> Digest {
    Digest::of(&cbor::encode(form).expect("canonical forms have unique keys"))
}
