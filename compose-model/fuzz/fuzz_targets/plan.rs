//! Fuzzes the plan readers: arbitrary TOML text and CBOR bytes give a plan or diagnostics,
//! never a panic; a plan that reads back encodes to bytes that read back to the same plan.
#![no_main]

use compose_model::plan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = plan::from_cbor(data) {
        assert_eq!(plan.to_cbor(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match plan::from_toml(text) {
            Ok(plan) => {
                let bytes = plan.to_cbor();
                assert_eq!(plan::from_cbor(&bytes).as_ref(), Ok(&plan));
            }
            Err(diags) => {
                for d in diags {
                    if let Some(span) = d.span {
                        assert!(span.start <= span.end && span.end <= text.len());
                    }
                }
            }
        }
    }
});
