//! Runs every conformance vector through the built `composectl`, as `cargo xtask conformance`
//! does, so `cargo test` covers them too.

#[test]
fn all_vectors_pass() {
    let composectl = std::path::Path::new(env!("CARGO_BIN_EXE_composectl"));
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors");
    let summary = conformance_runner::run(composectl, &vectors).expect("the vectors load and run");
    let failures: Vec<String> = summary
        .failures()
        .map(|c| {
            format!(
                "{} ({}): {}",
                c.id,
                c.comment,
                c.reason.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        summary.totals.total >= 200,
        "only {} vectors ran",
        summary.totals.total
    );
    for suite in ["canon-cbor", "canon-wit", "plan", "trust-bundle"] {
        assert!(
            summary.suites.get(suite).is_some_and(|t| t.total > 0),
            "no `{suite}` vectors ran"
        );
    }
}

/// Every code up to the WIT range has a conformance vector (emit and exec codes, which need
/// built components, are tested in compose-build and compose-runtime), and so does every
/// refusal of a bundle that `trust verify` makes from files alone (certificate failures need
/// Sigstore's published bundles and roots: compose-trust's tests check those).
#[test]
fn every_error_code_has_a_vector() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors");
    let mut covered = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        for t in doc["tests"].as_array().unwrap() {
            for key in ["errorCode", "hostErrorCode"] {
                if let Some(c) = t[key].as_str() {
                    covered.insert(c.to_owned());
                }
            }
        }
    }
    for code in compose_model::Code::ALL.iter().filter(|c| {
        c.as_str() < "E0400"
            || [
                "E0701", "E0702", "E0703", "E0704", "E0705", "E0707", "E0708",
            ]
            .contains(&c.as_str())
    }) {
        assert!(
            covered.contains(code.as_str()),
            "no vector for {code} ({})",
            code.summary()
        );
    }
}
