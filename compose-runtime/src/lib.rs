//! The runtime: executes composed components on Wasmtime under the plan's policy (to come with the exec issue).
