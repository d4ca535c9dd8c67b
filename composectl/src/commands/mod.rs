//! One module per top-level command.

pub mod attest;
pub mod audit;
pub mod cbor;
pub mod completions;
pub mod emit;
pub mod evidence;
pub mod exec;
pub mod man;
pub mod plan;
pub mod report;
pub mod trust;
pub mod wit;
