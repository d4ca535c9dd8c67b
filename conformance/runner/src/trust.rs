//! `trust-bundle`: `trust verify ARTIFACT --bundle B… --key K… [--threshold N] --json` exits 0
//! with `"verified": true` for a valid vector, and 1 with `"verified": false` and `"code"` equal
//! to `errorCode` for an invalid one. Bundles that are JSON objects are written as JSON; strings
//! are written as they are (malformed bundles).

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::exec::{run, unhex};
use crate::summary::CaseResult;

/// Runs one `trust-bundle` vector.
pub fn bundle(composectl: &Path, test: &Value) -> Result<CaseResult> {
    let valid = test["result"] == "valid";
    let code = test["errorCode"].as_str();
    let mut case = CaseResult::new(match (valid, code) {
        (true, _) => "verified".to_owned(),
        (false, Some(c)) => format!("refused {c}"),
        (false, None) => "refused".to_owned(),
    });
    let dir = tempfile::tempdir()?;
    let path = |name: String| -> Result<String> {
        Ok(dir
            .path()
            .join(name)
            .to_str()
            .context("temporary path is not UTF-8")?
            .to_owned())
    };
    let artifact = path("artifact.wasm".into())?;
    std::fs::write(
        &artifact,
        unhex(test["artifact"].as_str().context("no `artifact`")?)?,
    )?;
    let mut args = vec![
        "trust".to_owned(),
        "verify".into(),
        artifact,
        "--json".into(),
    ];
    let bundles = test["bundles"].as_array().context("no `bundles`")?;
    for (i, b) in bundles.iter().enumerate() {
        let p = path(format!("bundle-{i}.sigstore.json"))?;
        match b {
            Value::String(text) => std::fs::write(&p, text)?,
            other => std::fs::write(&p, other.to_string())?,
        }
        args.extend(["--bundle".into(), p]);
    }
    for (i, k) in test["keys"].as_array().into_iter().flatten().enumerate() {
        let p = path(format!("key-{i}.pub"))?;
        std::fs::write(&p, k.as_str().context("a key is not PEM text")?)?;
        args.extend(["--key".into(), p]);
    }
    if let Some(id) = test.get("identity") {
        args.extend([
            "--certificate-identity".into(),
            id["identity"].as_str().context("no identity")?.into(),
            "--certificate-oidc-issuer".into(),
            id["issuer"].as_str().context("no issuer")?.into(),
        ]);
    }
    if let Some(n) = test["threshold"].as_u64() {
        args.extend(["--threshold".into(), n.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (step, _) = run(composectl, &args)?;
    let out: Value = serde_json::from_str(&step.stdout).unwrap_or(Value::Null);
    let want_exit = if valid { 0 } else { 1 };
    if step.exit != Some(want_exit) {
        case.fail(format!(
            "`trust verify` exited {:?}, expected {want_exit}",
            step.exit
        ));
    } else if out["verified"].as_bool() != Some(valid) {
        case.fail(format!("`trust verify --json` printed {:?}", step.stdout));
    } else if let Some(code) = code
        && out["code"].as_str() != Some(code)
    {
        case.fail(format!("refused with {}, expected {code}", out["code"]));
    }
    case.steps.push(step);
    Ok(case)
}
