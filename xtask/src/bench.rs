//! `cargo xtask bench`: runs the criterion benchmarks, then writes `bench/results/*.json` and
//! the tables in `bench/README.md` from criterion's estimates.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::{self, cargo, root, target_dir};

pub fn run(report_only: bool) -> Result<()> {
    if report_only {
        foundation()?;
        return wit();
    }
    let mut cmd = cargo();
    cmd.args(["bench", "--package", "compose-model", "--bench", "plan"]);
    util::run(cmd)?;
    foundation()?;

    let mut cmd = cargo();
    cmd.args(["bench", "--package", "compose-wit", "--bench", "wasi"]);
    cmd.env("COMPOSE_WASI_WIT", wasi_wit_dir()?);
    util::run(cmd)?;
    wit()
}

/// The WASI 0.2 WIT that wasmtime-wasi-http vendors: the `wit/` folder of that crate's source,
/// fetched (not built) into cargo's registry through a throwaway manifest if it is not there.
fn wasi_wit_dir() -> Result<std::path::PathBuf> {
    const CRATE: &str = "wasmtime-wasi-http";
    const VERSION: &str = "50.0.1";
    let find = || -> Option<std::path::PathBuf> {
        let home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo"))
            })?;
        std::fs::read_dir(home.join("registry/src"))
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join(format!("{CRATE}-{VERSION}/wit")))
            .find(|p| p.is_dir())
    };
    if let Some(dir) = find() {
        return Ok(dir);
    }
    let tmp = std::env::temp_dir().join("compose-xtask-wasi-wit");
    std::fs::create_dir_all(tmp.join("src"))?;
    std::fs::write(
        tmp.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fetch-wasi-wit\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n{CRATE} = \"={VERSION}\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(tmp.join("src/lib.rs"), "")?;
    let mut fetch = std::process::Command::new("cargo");
    fetch.current_dir(&tmp).arg("fetch");
    util::run(fetch)?;
    find().with_context(|| {
        format!("`{CRATE}` {VERSION} was fetched but its `wit/` folder was not found")
    })
}

/// Mean and 95% interval (nanoseconds) of one criterion benchmark.
pub(crate) fn estimate(group: &str, name: &str) -> Result<(f64, f64, f64)> {
    // Criterion replaces characters that are not safe in file names with `_`.
    let dir = target_dir()
        .join("criterion")
        .join(group)
        .join(name.replace(['/', ':'], "_"));
    let path = dir.join("new/estimates.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "failed to read `{}`; did the benchmark run?",
            path.display()
        )
    })?;
    let v: Value = serde_json::from_str(&text)?;
    let mean = &v["mean"];
    let get = |x: &Value| x.as_f64().context("malformed estimates.json");
    Ok((
        get(&mean["point_estimate"])?,
        get(&mean["confidence_interval"]["lower_bound"])?,
        get(&mean["confidence_interval"]["upper_bound"])?,
    ))
}

fn ms(ns: f64) -> String {
    format!("{:.2} ms", ns / 1e6)
}

fn foundation() -> Result<()> {
    let group = "plan-1000";
    let names = [
        "encode/canonical",
        "encode/ciborium",
        "decode/canonical",
        "decode/ciborium",
        "check",
        "validate/toml",
        "validate/cbor",
    ];
    let mut results = serde_json::Map::new();
    let mut means = std::collections::BTreeMap::new();
    for name in names {
        let (mean, low, high) = estimate(group, name)?;
        means.insert(name, mean);
        results.insert(
            name.into(),
            json!({ "mean_ns": mean, "low_ns": low, "high_ns": high }),
        );
    }
    let ratio = (means["encode/canonical"] + means["decode/canonical"])
        / (means["encode/ciborium"] + means["decode/ciborium"]);
    let doc = json!({
        "benchmark": group,
        "what": "canonical CBOR (to_canonical_vec + strict decode) vs plain ciborium (into_writer + from_reader into ciborium::Value) on a 1,000-component plan; plan validation from TOML and from CBOR",
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "results": results,
        "ratios": {
            "canonical_vs_plain_encode_plus_decode": ratio,
            "canonical_vs_plain_encode": means["encode/canonical"] / means["encode/ciborium"],
            "canonical_vs_plain_decode": means["decode/canonical"] / means["decode/ciborium"],
        },
        "goals": {
            "canonical_vs_plain_encode_plus_decode": { "max": 1.5, "met": ratio <= 1.5 },
            "validate_ms": { "max": 50.0, "met": means["validate/toml"] / 1e6 < 50.0 && means["validate/cbor"] / 1e6 < 50.0 },
        },
    });
    let out = root().join("bench/results/foundation.json");
    std::fs::create_dir_all(out.parent().unwrap())?;
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("failed to write `{}`", out.display()))?;

    let row = |what: &str, ours: &str, peer: &str| {
        format!(
            "| {what} | {} | {} | {:.2}× |\n",
            ms(means[ours]),
            ms(means[peer]),
            means[ours] / means[peer]
        )
    };
    let mut table = String::from(
        "| 1,000-component plan | canonical | plain ciborium | ratio |\n|---|---|---|---|\n",
    );
    table.push_str(&row("encode", "encode/canonical", "encode/ciborium"));
    table.push_str(&row("decode", "decode/canonical", "decode/ciborium"));
    table.push_str(&format!(
        "| **encode + decode** | {} | {} | **{ratio:.2}×** (goal ≤ 1.5×) |\n",
        ms(means["encode/canonical"] + means["decode/canonical"]),
        ms(means["encode/ciborium"] + means["decode/ciborium"]),
    ));
    table.push_str(&format!(
        "\n| validation of the same plan | time | goal |\n|---|---|---|\n| strict canonical check only | {} | |\n| `plan::from_toml` (parse + check) | {} | < 50 ms |\n| `plan::from_cbor` (check + parse + check + normal form) | {} | < 50 ms |\n",
        ms(means["check"]),
        ms(means["validate/toml"]),
        ms(means["validate/cbor"]),
    ));
    replace_section(&root().join("bench/README.md"), "foundation", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}

/// Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
pub(crate) fn replace_section(path: &Path, name: &str, body: &str) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let (Some(s), Some(e)) = (text.find(&start), text.find(&end)) else {
        anyhow::bail!(
            "`{}` has no `{}` … `{}` section",
            path.display(),
            start.trim(),
            end
        );
    };
    let new = format!("{}{start}{body}{}", &text[..s], &text[e..]);
    std::fs::write(path, new).with_context(|| format!("failed to write `{}`", path.display()))
}

fn wit() -> Result<()> {
    let group = "wasi-ids";
    let packages = [
        "wasi:io",
        "wasi:clocks",
        "wasi:random",
        "wasi:filesystem",
        "wasi:sockets",
        "wasi:cli",
        "wasi:http",
    ];
    let mut results = serde_json::Map::new();
    let mut table = String::from(
        "| WASI 0.2 package (as vendored by wasmtime-wasi-http 50.0.1) | ids of all its interfaces |\n|---|---|\n",
    );
    for name in packages.iter().chain(&["all", "parse"]) {
        let (mean, low, high) = estimate(group, name)?;
        results.insert(
            (*name).into(),
            json!({ "mean_ns": mean, "low_ns": low, "high_ns": high }),
        );
        let label = match *name {
            "all" => "**all of WASI** (goal < 20 ms)".to_owned(),
            "parse" => "(parsing all of WASI with wit-parser, for scale)".to_owned(),
            n => format!("`{n}`"),
        };
        table.push_str(&format!("| {label} | {:.3} ms |\n", mean / 1e6));
    }
    let all = results["all"]["mean_ns"].as_f64().unwrap_or(f64::MAX);
    let doc = json!({
        "benchmark": group,
        "what": "canonical ids of every interface of each WASI 0.2 package (compose_wit::Wit::id), parsed once beforehand",
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "results": results,
        "goals": { "all_wasi_ms": { "max": 20.0, "met": all / 1e6 < 20.0 } },
    });
    let out = root().join("bench/results/wit.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("failed to write `{}`", out.display()))?;
    replace_section(&root().join("bench/README.md"), "wit", &table)?;
    println!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}
