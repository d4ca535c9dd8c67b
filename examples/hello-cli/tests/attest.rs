//! A plan that grants `attest` is refused where compose-runtime cannot sign evidence: built
//! alone (`cargo test-lean`, no `attest` feature) with E0214 naming the feature; in the
//! workspace (the feature on, unified from composectl) with E0501, since this host has no
//! attestation key. Either way, before anything is compiled or run.

use compose_runtime::compose_model::{Code, plan};
use compose_runtime::{Composition, HostPolicy, Runtime};

const PLAN: &str = r#"name = "attest"
[components.attester]
path = "attester.wasm"
exports = ["wasi:cli/run"]
imports = { "std:attest/attestation" = { host = "attest" } }
capabilities = { stdout = "required", attest = "required" }
[exports]
"wasi:cli/run" = "attester"
[grants]
stdout = true
attest = true
"#;

#[test]
fn attest_grants_need_the_feature_and_a_key() {
    let plan = plan::from_toml(PLAN).unwrap_or_else(|d| panic!("{d:?}"));
    let runtime = Runtime::new(&plan.policy).unwrap();
    let err = Composition::new(runtime, &plan, b"\0asm", HostPolicy::default())
        .err()
        .expect("refused");
    if compose_runtime::ATTEST {
        assert_eq!(err.code, Code::ExecCapabilityRefused, "{err}");
        assert!(err.message.contains("no attestation key"), "{err}");
    } else {
        assert_eq!(err.code, Code::PlanNotImplemented, "{err}");
        assert!(err.message.contains("`attest` feature"), "{err}");
    }
}
