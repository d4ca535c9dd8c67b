//! `cargo xtask bench`: runs the criterion benchmarks, then writes `bench/results/*.json` and
//! the tables in `bench/README.md` from criterion's estimates.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::{self, cargo, root, target_dir};

/// One benchmark group: the bench target that runs it and the rows it reports.
struct Group {
    /// `cargo bench --package P --bench B`.
    package: &'static str,
    bench: &'static str,
    /// Criterion group name.
    group: &'static str,
    /// Results file under `bench/results/`.
    results: &'static str,
}

const GROUPS: &[Group] = &[Group {
    package: "compose-model",
    bench: "plan",
    group: "plan-1000",
    results: "foundation.json",
}];

pub fn run() -> Result<()> {
    for g in GROUPS {
        let mut cmd = cargo();
        cmd.args(["bench", "--package", g.package, "--bench", g.bench]);
        util::run(cmd)?;
    }
    foundation()
}

/// Mean and 95% interval (nanoseconds) of one criterion benchmark.
fn estimate(group: &str, name: &str) -> Result<(f64, f64, f64)> {
    let dir = target_dir()
        .join("criterion")
        .join(group)
        .join(name.replace('/', "_"));
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
    let g = &GROUPS[0];
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
        let (mean, low, high) = estimate(g.group, name)?;
        means.insert(name, mean);
        results.insert(
            name.into(),
            json!({ "mean_ns": mean, "low_ns": low, "high_ns": high }),
        );
    }
    let ratio = (means["encode/canonical"] + means["decode/canonical"])
        / (means["encode/ciborium"] + means["decode/ciborium"]);
    let doc = json!({
        "benchmark": g.group,
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
    let out = root().join("bench/results").join(g.results);
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
fn replace_section(path: &Path, name: &str, body: &str) -> Result<()> {
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
