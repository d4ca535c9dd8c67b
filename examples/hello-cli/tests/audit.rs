//! A plan that names an audit log is refused where compose-runtime cannot write one: built
//! alone (`cargo test-lean`, no `audit` feature) with E0214 naming the feature; in the
//! workspace (the feature on, unified from composectl) with E0801, since this host was given
//! no log. Either way, before anything is compiled or run.

use compose_runtime::compose_model::{Code, plan};
use compose_runtime::{Composition, HostPolicy, Runtime};

const PLAN: &str = r#"name = "audited"
[components.auditor]
path = "auditor.wasm"
exports = ["wasi:cli/run"]
capabilities = { stdout = "required" }
[exports]
"wasi:cli/run" = "auditor"
[grants]
stdout = true
[observability]
audit = "file:audit.log"
"#;

#[test]
fn an_audit_log_needs_the_feature_and_a_log() {
    let plan = plan::from_toml(PLAN).unwrap_or_else(|d| panic!("{d:?}"));
    let runtime = Runtime::new(&plan.policy).unwrap();
    let err = Composition::new(runtime, &plan, b"\0asm", HostPolicy::default())
        .err()
        .expect("refused");
    if compose_runtime::AUDIT {
        assert_eq!(err.code, Code::AuditSink, "{err}");
        assert!(err.message.contains("no log"), "{err}");
    } else {
        assert_eq!(err.code, Code::PlanNotImplemented, "{err}");
        assert!(err.message.contains("`audit` feature"), "{err}");
    }
}
