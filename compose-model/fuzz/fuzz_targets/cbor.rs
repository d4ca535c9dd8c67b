//! Fuzzes every CBOR reader with arbitrary bytes and checks that they agree with each other.
#![no_main]

use compose_model::cbor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let checked = cbor::check(data);
    let canon = cbor::canonicalize(data);
    let diag = cbor::diagnostic(data);
    if checked.is_ok() {
        // Canonical input is its own canonical form, has a diagnostic form, and decodes to a
        // value that encodes back to the same bytes.
        assert_eq!(canon.as_deref().ok(), Some(data));
        assert!(diag.is_ok());
        let value = cbor::decode(data).expect("checked input decodes");
        assert_eq!(cbor::encode(&value).expect("decoded value encodes"), data);
    }
    if let Ok(c) = &canon {
        // Canonicalizing is idempotent and its output passes the strict check.
        assert_eq!(cbor::check(c), Ok(()));
        assert_eq!(cbor::canonicalize(c).as_ref(), Ok(c));
        assert!(diag.is_ok(), "well-formed input must have a diagnostic form");
    }
    if let Err(e) = &checked {
        assert!(e.offset <= data.len());
        // Only canonical-form violations are repairable.
        assert_eq!(e.is_repairable(), canon.is_ok());
    }
});
