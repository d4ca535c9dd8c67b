//! What each suite checks for one vector.
//!
//! `canon-cbor`: `cbor check` exits 0 for valid and 1 naming `errorCode` for invalid;
//! `cbor canon` writes exactly `canonical` (the input itself when valid) or exits 1 when the
//! input cannot be repaired; `cbor diag` prints `diag` when given.
//!
//! `canon-wit`: for a pair, `wit id` of `a` and `b` (for `item`, or the package) are equal or
//! differ as `relation` says, and `wit canon` prints the form; for an invalid vector, `wit id`
//! exits 1 naming `errorCode` (and `errorAt`, a `file:line:col`, when given).
//!
//! `plan`: `plan validate --json` agrees with `result` and reports `errorCode` (every error of a
//! TOML plan with a line and column); a valid plan encodes to canonical CBOR with the same
//! digest as its source, and TOML → CBOR → TOML → CBOR is byte-identical; an invalid one is
//! refused by `plan encode` too.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::exec::{hex, run, unhex};
use crate::summary::CaseResult;

fn expected(test: &Value) -> (bool, Option<String>) {
    let valid = test["result"] == "valid";
    (valid, test["errorCode"].as_str().map(str::to_owned))
}

fn describe(valid: bool, code: &Option<String>) -> String {
    match (valid, code) {
        (true, _) => "valid".into(),
        (false, Some(c)) => format!("invalid {c}"),
        (false, None) => "invalid".into(),
    }
}

/// Runs one `canon-cbor` vector.
pub fn cbor(composectl: &Path, test: &Value) -> Result<CaseResult> {
    let (valid, code) = expected(test);
    let mut case = CaseResult::new(describe(valid, &code));
    let input = unhex(test["input"].as_str().context("no `input`")?)?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("input.cbor");
    std::fs::write(&file, &input)?;
    let f = file.to_str().context("temporary path is not UTF-8")?;

    let (step, _) = run(composectl, &["cbor", "check", f])?;
    let want_exit = if valid { 0 } else { 1 };
    if step.exit != Some(want_exit) {
        case.fail(format!(
            "`cbor check` exited {:?}, expected {want_exit}",
            step.exit
        ));
    } else if let Some(code) = &code
        && !step.stderr.contains(&format!("error[{code}]"))
    {
        case.fail(format!("`cbor check` did not report {code}"));
    }
    case.steps.push(step);

    let canonical = match test["canonical"].as_str() {
        Some(h) => Some(unhex(h)?),
        None if valid => Some(input.clone()),
        None => None,
    };
    let (step, stdout) = run(composectl, &["cbor", "canon", f])?;
    match &canonical {
        Some(want) if step.exit != Some(0) => {
            case.fail(format!("`cbor canon` exited {:?}, expected 0", step.exit))
        }
        Some(want) if &stdout != want => case.fail(format!(
            "`cbor canon` wrote {}, expected {}",
            hex(&stdout),
            hex(want)
        )),
        None if step.exit != Some(1) => case.fail(format!(
            "`cbor canon` exited {:?}, expected 1 (not repairable)",
            step.exit
        )),
        _ => {}
    }
    case.steps.push(step);

    if let Some(want) = test["diag"].as_str() {
        let (step, _) = run(composectl, &["cbor", "diag", f])?;
        if step.exit != Some(0) {
            case.fail(format!("`cbor diag` exited {:?}", step.exit));
        } else if step.stdout.trim_end_matches('\n') != want {
            case.fail(format!(
                "`cbor diag` printed {:?}, expected {want:?}",
                step.stdout.trim_end()
            ));
        }
        case.steps.push(step);
    }
    Ok(case)
}

/// Runs one `plan` vector.
pub fn plan(composectl: &Path, vectors: &Path, test: &Value) -> Result<CaseResult> {
    let (valid, code) = expected(test);
    let mut case = CaseResult::new(describe(valid, &code));
    let dir = tempfile::tempdir()?;
    let format = test["format"].as_str().unwrap_or("toml");
    let bytes = match (
        test["plan"].as_str(),
        test["input"].as_str(),
        test["file"].as_str(),
    ) {
        (Some(text), _, _) => text.as_bytes().to_vec(),
        (_, Some(h), _) => unhex(h)?,
        (_, _, Some(rel)) => {
            std::fs::read(vectors.join(rel)).with_context(|| format!("failed to read `{rel}`"))?
        }
        _ => anyhow::bail!("a plan vector needs `plan` (TOML text), `input` (hex) or `file`"),
    };
    let file = dir.path().join(format!("plan.{format}"));
    std::fs::write(&file, &bytes)?;
    let f = file.to_str().context("temporary path is not UTF-8")?;

    let (step, _) = run(composectl, &["plan", "validate", "--json", f])?;
    let report: Value = serde_json::from_str(&step.stdout).unwrap_or(Value::Null);
    let codes: Vec<&str> = report["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["code"].as_str()).collect())
        .unwrap_or_default();
    let want_exit = if valid { 0 } else { 1 };
    if step.exit != Some(want_exit) {
        case.fail(format!(
            "`plan validate` exited {:?}, expected {want_exit}",
            step.exit
        ));
    } else if report["valid"] != Value::Bool(valid) {
        case.fail("`plan validate --json` printed no matching `valid`");
    } else if let Some(code) = &code
        && !codes.contains(&code.as_str())
    {
        case.fail(format!("`plan validate` reported {codes:?}, not {code}"));
    }
    if let Some(all) = test["errorCodes"].as_array() {
        let mut want: Vec<&str> = all.iter().filter_map(Value::as_str).collect();
        let mut got = codes.clone();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            case.fail(format!(
                "`plan validate` reported {got:?}, expected exactly {want:?}"
            ));
        }
    }
    if format == "toml" {
        let unplaced = report["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["line"].is_null() || e["column"].is_null());
        if unplaced {
            case.fail("an error of a TOML plan has no line and column");
        }
    }
    case.steps.push(step);

    if valid {
        round_trip(composectl, dir.path(), f, &mut case)?;
        if let Some(code) = test["hostErrorCode"].as_str() {
            host_refuses(composectl, dir.path(), f, code, &mut case)?;
        }
    } else {
        let (step, _) = run(
            composectl,
            &[
                "plan",
                "encode",
                f,
                "-o",
                &dir.path().join("never.cbor").to_string_lossy(),
            ],
        )?;
        if step.exit != Some(1) {
            case.fail(format!(
                "`plan encode` of an invalid plan exited {:?}, expected 1",
                step.exit
            ));
        }
        case.steps.push(step);
    }
    Ok(case)
}

/// A valid plan that asks for what this host does not implement: `emit build` must refuse it
/// with `code` (exit 1) and write nothing, rather than compose it as if it had not asked.
fn host_refuses(
    composectl: &Path,
    dir: &Path,
    f: &str,
    code: &str,
    case: &mut CaseResult,
) -> Result<()> {
    let out = dir.join("refused.wasm");
    let (step, _) = run(
        composectl,
        &["emit", "build", f, "-o", &out.to_string_lossy()],
    )?;
    if step.exit != Some(1) {
        case.fail(format!(
            "`emit build` of a plan this host cannot keep exited {:?}, expected 1",
            step.exit
        ));
    } else if !step.stderr.contains(&format!("error[{code}]")) {
        case.fail(format!("`emit build` did not report {code}"));
    }
    if out.exists() {
        case.fail("`emit build` wrote an output for a plan it refused");
    }
    case.steps.push(step);
    Ok(())
}

fn round_trip(composectl: &Path, dir: &Path, f: &str, case: &mut CaseResult) -> Result<()> {
    let cbor1 = dir.join("one.cbor").to_string_lossy().into_owned();
    let cbor2 = dir.join("two.cbor").to_string_lossy().into_owned();
    let toml = dir.join("shown.toml").to_string_lossy().into_owned();
    let ok = |case: &mut CaseResult, args: &[&str]| -> Result<Option<Vec<u8>>> {
        let (step, out) = run(composectl, args)?;
        let good = step.exit == Some(0);
        if !good {
            case.fail(format!("`{}` exited {:?}", args[..2].join(" "), step.exit));
        }
        case.steps.push(step);
        Ok(good.then_some(out))
    };
    if ok(case, &["plan", "encode", f, "-o", &cbor1])?.is_none() {
        return Ok(());
    }
    ok(case, &["cbor", "check", &cbor1])?;
    let d1 = ok(case, &["plan", "digest", f])?;
    let d2 = ok(case, &["plan", "digest", &cbor1])?;
    if d1 != d2 {
        case.fail("the digest of the plan and of its CBOR encoding differ");
    }
    if let Some(shown) = ok(case, &["plan", "show", &cbor1, "--format", "toml"])? {
        std::fs::write(&toml, shown)?;
        if ok(case, &["plan", "encode", &toml, "-o", &cbor2])?.is_some()
            && std::fs::read(&cbor1)? != std::fs::read(&cbor2)?
        {
            case.fail("TOML → CBOR → TOML → CBOR is not byte-identical");
        }
    }
    Ok(())
}

/// Writes a WIT source (a file's text, or a map of relative paths to texts for a directory)
/// under `dir` and returns the path to pass to `composectl wit`.
fn write_wit(dir: &Path, name: &str, source: &Value) -> Result<String> {
    let path = match source {
        Value::String(text) => {
            let p = dir.join(format!("{name}.wit"));
            std::fs::write(&p, text)?;
            p
        }
        Value::Object(files) => {
            let root = dir.join(name);
            for (rel, text) in files {
                let p = root.join(rel);
                std::fs::create_dir_all(p.parent().context("a file needs a folder")?)?;
                std::fs::write(&p, text.as_str().context("file contents must be text")?)?;
            }
            root
        }
        _ => anyhow::bail!("a WIT source is a string or an object of files"),
    };
    Ok(path
        .to_str()
        .context("temporary path is not UTF-8")?
        .to_owned())
}

fn wit_args<'a>(cmd: &'a str, path: &'a str, item: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec!["wit", cmd, path];
    if let Some(item) = item {
        args.extend(["--item", item]);
    }
    args
}

/// Runs one `canon-wit` vector.
pub fn wit(composectl: &Path, test: &Value) -> Result<CaseResult> {
    let (valid, code) = expected(test);
    let relation = test["relation"].as_str();
    let mut case = CaseResult::new(match (valid, relation) {
        (true, Some(r)) => format!("{r} ids"),
        _ => describe(valid, &code),
    });
    let dir = tempfile::tempdir()?;
    let item = test["item"].as_str();
    if !valid {
        let path = match test["wasm"].as_str() {
            Some(h) => {
                let p = dir.path().join("input.wasm");
                std::fs::write(&p, unhex(h)?)?;
                p.to_str()
                    .context("temporary path is not UTF-8")?
                    .to_owned()
            }
            None => write_wit(dir.path(), "input", &test["wit"])?,
        };
        let (step, _) = run(composectl, &wit_args("id", &path, item))?;
        if step.exit != Some(1) {
            case.fail(format!("`wit id` exited {:?}, expected 1", step.exit));
        } else if let Some(code) = &code
            && !step.stderr.contains(&format!("error[{code}]"))
        {
            case.fail(format!("`wit id` did not report {code}"));
        }
        if let Some(at) = test["errorAt"].as_str()
            && !step.stderr.contains(at)
        {
            case.fail(format!("the error does not point at `{at}`"));
        }
        case.steps.push(step);
        return Ok(case);
    }
    let mut ids = Vec::new();
    for side in ["a", "b"] {
        let path = write_wit(dir.path(), side, &test[side])?;
        let (step, _) = run(composectl, &wit_args("id", &path, item))?;
        let line = step.stdout.trim_end_matches('\n');
        let well_formed = line.len() == 71 && line.starts_with("sha256:") && !line.contains('\n');
        if step.exit != Some(0) || !well_formed {
            case.fail(format!(
                "`wit id` of `{side}` exited {:?} printing {:?}",
                step.exit, step.stdout
            ));
        }
        ids.push(line.to_owned());
        case.steps.push(step);
        if side == "a" {
            let (step, _) = run(composectl, &wit_args("canon", &path, item))?;
            if step.exit != Some(0) || !step.stdout.contains("canon:wit/v1") {
                case.fail(format!("`wit canon` exited {:?}", step.exit));
            }
            case.steps.push(step);
        }
    }
    match relation {
        Some("same") if ids[0] != ids[1] => {
            case.fail(format!("ids differ: {} vs {}", ids[0], ids[1]))
        }
        Some("different") if ids[0] == ids[1] => case.fail(format!("ids agree: {}", ids[0])),
        Some("same" | "different") => {}
        other => anyhow::bail!("`relation` must be `same` or `different`, not {other:?}"),
    }
    Ok(case)
}
