//! Runs composed components on Wasmtime, deny-by-default: nothing reaches a component unless
//! the plan requests and grants it and the host policy allows it; limits come from the plan.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = compose_model::plan::from_toml(&std::fs::read_to_string("compose.toml")?).unwrap();
//! let component = std::fs::read("composed.wasm")?;
//! let runtime = compose_runtime::Runtime::new(&plan.policy)?;
//! let exit = runtime.run(&plan, &component, &["World".into()], &compose_runtime::HostPolicy::default())?;
//! std::process::exit(exit.into());
//! # }
//! ```
#![deny(missing_docs)]

mod engine;
mod error;
mod limits;
mod policy;
mod run;
mod wasi;

pub use engine::Runtime;
pub use error::ExecError;
pub use policy::{Effective, HostPolicy};
