//! Runs every conformance vector through the built `composectl`, as `cargo xtask conformance`
//! does, so `cargo test` covers them too; and checks the report: no path of the machine in the
//! summary, and the signed test-result attestation verifies for this binary and this key only.

mod common;

use compose_trust::verify::{Artifact, BundleFile};
use compose_trust::{Accepted, Policy};

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
    the_report_names_no_folder_and_its_attestation_verifies(composectl, &vectors, &summary);
}

fn the_report_names_no_folder_and_its_attestation_verifies(
    composectl: &std::path::Path,
    vectors: &std::path::Path,
    summary: &conformance_runner::Summary,
) {
    let text = serde_json::to_string(summary).unwrap();
    let root = std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
    let tmp = std::fs::canonicalize(std::env::temp_dir()).unwrap();
    for folder in [root.as_path(), tmp.as_path()] {
        let folder = folder.display().to_string();
        assert!(!text.contains(&folder), "the summary names `{folder}`");
    }
    assert!(
        text.contains("$TMPDIR"),
        "the vectors' own folders are named by placeholder"
    );

    use conformance_runner::attest::{self, Tested};
    let keys = tempfile::tempdir().unwrap();
    let public = compose_trust::keys::generate(&keys.path().join("ci.key"))
        .unwrap()
        .key;
    let other = compose_trust::keys::generate(&keys.path().join("other.key"))
        .unwrap()
        .key;
    let tested = Tested::read(composectl, vectors).unwrap();
    let plain = attest::make(summary, &tested, None).unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(statement["predicateType"], attest::PREDICATE_TYPE);
    let predicate = &statement["predicate"];
    assert_eq!(predicate["result"], "PASSED");
    assert_eq!(
        predicate["passedTests"].as_array().unwrap().len(),
        summary.totals.passed
    );
    assert!(predicate["failedTests"].as_array().unwrap().is_empty());
    assert!(!String::from_utf8_lossy(&plain).contains(&root.display().to_string()));
    // The run's metrics and event log: every command, in order, under its vector.
    let config = predicate["configuration"].as_array().unwrap();
    let named = |n: &str| config.iter().find(|c| c["name"] == n).unwrap().clone();
    let metrics = named("run/metrics");
    assert_eq!(metrics["annotations"]["vectors"], summary.totals.total);
    assert_eq!(metrics["annotations"]["failed"], 0);
    let steps: usize = summary.results.iter().map(|c| c.steps.len()).sum();
    assert_eq!(metrics["annotations"]["commands"], steps);
    let events = named("run/events");
    let log = events["annotations"]["events"].as_array().unwrap();
    assert_eq!(log.len(), steps);
    assert_eq!(log[0]["test"], summary.results[0].id.as_str());
    let canonical = serde_json_canonicalizer::to_vec(&events["annotations"]["events"]).unwrap();
    assert_eq!(
        events["digest"]["sha256"],
        compose_model::Digest::of(&canonical).hex()
    );
    // The same run gives the same statement: no time in it.
    assert_eq!(attest::make(summary, &tested, None).unwrap(), plain);

    let signed = attest::make(summary, &tested, Some(&keys.path().join("ci.key"))).unwrap();
    // Sigstore's JavaScript verifier reads it too.
    std::fs::write(keys.path().join("report.json"), &signed).unwrap();
    let pem = public.to_pem();
    std::fs::write(keys.path().join("ci.pub"), &pem).unwrap();
    common::sigstore_js(
        keys.path(),
        "report.json",
        &composectl.display().to_string(),
        "ci.pub",
    )
    .unwrap();
    let files = [BundleFile {
        origin: "conformance".into(),
        json: signed,
    }];
    let binary = std::fs::read(composectl).unwrap();
    let check = |artifact: &[u8], key: &compose_trust::PublicKey| {
        let policy = Policy::new(vec![Accepted::Key(key.clone())]).unwrap();
        compose_trust::verify::verify("composectl", &Artifact::new(artifact), &files, "", &policy)
    };
    let verified = check(&binary, &public).unwrap();
    assert!(
        verified
            .claims
            .iter()
            .any(|c| c.predicate_type == attest::PREDICATE_TYPE && c.predicate == *predicate)
    );
    // For another binary, or under another key, it proves nothing.
    assert_eq!(
        check(b"another binary", &public).unwrap_err().code.as_str(),
        "E0704"
    );
    assert_eq!(check(&binary, &other).unwrap_err().code.as_str(), "E0702");
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
