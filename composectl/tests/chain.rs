//! A chain app → f000 → … → f199 → greeter in which every `f` is the same formatter: the
//! formatter is one definition instantiated 200 times (as `wac` writes it), so the chain
//! composes past the validator's limit of 1,000 components and modules, stays about the size
//! of its distinct inputs, and runs.

mod common;

use common::composectl_in as composectl;

/// The plan of the chain of `n` formatters, its `path` sources in the plan's folder.
fn chain_plan(n: usize) -> String {
    let mut plan = String::from(
        "schema = 1\n[components.greeter]\npath = \"greeter.wasm\"\nexports = [\"example:greet/greeter\"]\n",
    );
    for i in 0..n {
        let next = if i + 1 == n {
            "greeter".to_owned()
        } else {
            format!("f{:03}", i + 1)
        };
        plan += &format!(
            "[components.f{i:03}]\npath = \"formatter.wasm\"\nexports = [\"example:greet/greeter\"]\nimports = {{ \"example:greet/greeter\" = \"{next}\" }}\n"
        );
    }
    plan += r#"[components.app]
path = "app.wasm"
exports = ["wasi:cli/run"]
imports = { "example:greet/greeter" = "f000" }
capabilities = { stdout = "required", stderr = "required", args = "required" }
[exports]
"wasi:cli/run" = "app"
[grants]
stdout = true
stderr = true
args = true
"#;
    plan
}

#[test]
fn a_chain_of_200_copies_of_one_formatter_composes_once_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut distinct = 0;
    for name in ["app", "formatter", "greeter"] {
        let to = dir.path().join(format!("{name}.wasm"));
        std::fs::copy(common::guest(name), &to).unwrap();
        distinct += std::fs::metadata(&to).unwrap().len();
    }
    std::fs::write(dir.path().join("chain.toml"), chain_plan(200)).unwrap();
    let o = composectl(
        dir.path(),
        &[
            "emit",
            "build",
            "chain.toml",
            "-o",
            "chain.wasm",
            "--no-cache",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // One copy of each distinct input, plus the instances, their wiring and the recorded plan
    // (about 600 bytes per instance): were the formatter copied per instance, this would be
    // over 200 times its size.
    let size = std::fs::metadata(dir.path().join("chain.wasm"))
        .unwrap()
        .len();
    assert!(
        size < 2 * distinct,
        "the chain is {size} bytes; its distinct inputs are {distinct}"
    );
    let o = composectl(
        dir.path(),
        &[
            "exec",
            "run",
            "chain.wasm",
            "--plan",
            "chain.toml",
            "--",
            "World",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want = format!("{}Hello, World!{}", "*** ".repeat(200), " ***".repeat(200));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), want);
}
