//! `policy.concurrency` (exec serve's pool size) is read, range-checked and round-trips.

use compose_model::Code;
use compose_model::plan;

const BASE: &str = "[components.a]\npath = \"a.wasm\"\nexports = [\"wasi:http/incoming-handler\"]\n[exports]\n\"wasi:http/incoming-handler\" = \"a\"\n[policy]\n";

#[test]
fn concurrency_is_read_checked_and_round_trips() {
    let p = plan::from_toml(&format!("{BASE}concurrency = 64\n")).unwrap();
    assert_eq!(p.policy.concurrency, Some(64));
    assert_eq!(plan::from_cbor(&p.to_cbor()).unwrap(), p);
    for bad in ["0", "100001"] {
        let errors = plan::from_toml(&format!("{BASE}concurrency = {bad}\n")).unwrap_err();
        assert_eq!(errors[0].code, Code::PlanLimitOutOfRange, "{bad}");
    }
}
