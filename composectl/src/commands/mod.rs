//! One module per top-level command.

pub mod cbor;
pub mod emit;
pub mod exec;
pub mod plan;
pub mod trust;
pub mod wit;
