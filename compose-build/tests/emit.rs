//! Emit from real example guests: determinism, caching, and every error emit can report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use compose_build::{BlobStore, EmitOptions, emit, emit_prepared};
use compose_model::Code;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn guests() -> &'static BTreeMap<String, PathBuf> {
    static GUESTS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    GUESTS.get_or_init(|| {
        compose_build::build_guests(
            &root().join("examples/guests/Cargo.toml"),
            &["greeter", "app", "formatter", "probe"],
            &root().join("target/guests"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    })
}

const CHAIN: &str = r#"
[components.greeter]
path = "greeter.wasm"
exports = ["example:greet/greeter"]
[components.formatter]
path = "formatter.wasm"
exports = ["example:greet/greeter"]
imports = { "example:greet/greeter" = "greeter" }
[components.app]
path = "app.wasm"
exports = ["wasi:cli/run"]
imports = { "example:greet/greeter" = "formatter" }
capabilities = { stdio = "required", args = "required" }
[exports]
"wasi:cli/run" = "app"
[grants]
stdio = true
args = true
"#;

/// A folder with the guests copied in and `plan` written as `compose.toml`.
fn checkout(plan: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in guests() {
        std::fs::copy(path, dir.path().join(format!("{name}.wasm"))).unwrap();
    }
    std::fs::write(dir.path().join("compose.toml"), plan).unwrap();
    dir
}

/// Where the blob store in `cache` keeps the bytes with `digest`.
fn blob_file(cache: &Path, digest: &compose_model::Digest) -> PathBuf {
    cache
        .join("blobs/sha256")
        .join(digest.to_string().trim_start_matches("sha256:"))
}

fn codes(plan: &str) -> Vec<Code> {
    let dir = checkout(plan);
    let err = emit(&dir.path().join("compose.toml"), &EmitOptions::default())
        .expect_err("emit should fail");
    err.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn emit_is_deterministic_across_runs_and_checkouts() {
    let a = checkout(CHAIN);
    let b = checkout(CHAIN);
    let first = emit(&a.path().join("compose.toml"), &EmitOptions::default()).unwrap();
    wasmparser::Validator::new()
        .validate_all(&first.bytes)
        .unwrap();
    for _ in 0..20 {
        assert_eq!(
            emit(&a.path().join("compose.toml"), &EmitOptions::default())
                .unwrap()
                .bytes,
            first.bytes
        );
    }
    // Another folder (another absolute path) gives the same bytes.
    assert_ne!(a.path(), b.path());
    assert_eq!(
        emit(&b.path().join("compose.toml"), &EmitOptions::default())
            .unwrap()
            .digest,
        first.digest
    );
    assert_eq!(first.inputs.len(), 3);
}

#[test]
fn the_cache_returns_results_and_never_a_corrupt_one() {
    let dir = checkout(CHAIN);
    let cache = tempfile::tempdir().unwrap();
    let options = EmitOptions::default().cache(BlobStore::new(cache.path()), true);
    let plan = dir.path().join("compose.toml");
    let cold = emit(&plan, &options).unwrap();
    assert!(!cold.cached);
    let hit = emit(&plan, &options).unwrap();
    assert!(hit.cached);
    assert_eq!(hit.bytes, cold.bytes);
    // Corrupt the stored artifact: it is detected by its digest and rebuilt.
    let blob = blob_file(cache.path(), &cold.digest);
    std::fs::write(&blob, b"not the component").unwrap();
    let rebuilt = emit(&plan, &options).unwrap();
    assert!(!rebuilt.cached);
    assert_eq!(rebuilt.bytes, cold.bytes);
    // A changed input changes the key: no stale hit.
    std::fs::copy(&guests()["greeter"], dir.path().join("formatter.wasm")).unwrap();
    let changed = emit(&plan, &options).unwrap();
    assert!(!changed.cached);
    assert_ne!(changed.emit_key, cold.emit_key);
    assert_ne!(changed.digest, cold.digest);
}

/// A valid emit stores its inputs, so that a later plan can name them by digest (`blob`),
/// also an emit that does not use the cache (`--no-cache`), and replaces a damaged copy.
#[test]
fn a_valid_emit_stores_its_inputs_for_blob_sources() {
    let dir = checkout(CHAIN);
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path());
    let options = EmitOptions::default().cache(store.clone(), false);
    let plan = dir.path().join("compose.toml");
    let first = emit(&plan, &options).unwrap();
    let greeter = first.inputs["greeter"];
    let entry = blob_file(cache.path(), &greeter);
    std::fs::write(&entry, b"damaged").unwrap();
    emit(&plan, &options).unwrap();
    for digest in first.inputs.values() {
        let bytes = store.get(digest).expect("stored, intact");
        assert_eq!(compose_model::Digest::of(&bytes), *digest);
    }
    // Named by digest instead of by path: the same inputs.
    let by_blob = CHAIN.replace("path = \"greeter.wasm\"", &format!("blob = \"{greeter}\""));
    std::fs::write(&plan, by_blob).unwrap();
    std::fs::remove_file(dir.path().join("greeter.wasm")).unwrap();
    let second = emit(&plan, &options).unwrap();
    assert_eq!(second.inputs, first.inputs);
}

#[test]
fn a_pinned_digest_that_does_not_match_names_both() {
    let wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let plan = CHAIN.replace(
        "path = \"greeter.wasm\"",
        &format!("path = \"greeter.wasm\"\ndigest = \"{wrong}\""),
    );
    let dir = checkout(&plan);
    let err = emit(&dir.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
    assert_eq!(err.diagnostics[0].code, Code::EmitDigestMismatch);
    let actual =
        compose_model::Digest::of(&std::fs::read(&guests()["greeter"]).unwrap()).to_string();
    assert!(
        err.diagnostics[0].message.contains(wrong) && err.diagnostics[0].message.contains(&actual)
    );
    assert!(err.render().contains("compose.toml:"), "{}", err.render());
}

#[test]
fn a_suggested_fix_is_spelled_in_the_plans_syntax_and_works_as_written() {
    let unbound_of = |line: &str| {
        let plan = CHAIN.replace(line, "");
        let dir = checkout(&plan);
        let err = emit(&dir.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
        assert_eq!(err.diagnostics[0].code, Code::PlanUnboundImport);
        let d = err.diagnostics[0].clone();
        let rust = d.in_syntax(compose_model::plan::Syntax::Macro).message;
        assert!(!rust.contains("under `["), "{rust}");
        (plan, d.message, rust)
    };
    // One component exports what `formatter` needs: the fix names it.
    let (plan, toml, rust) = unbound_of("imports = { \"example:greet/greeter\" = \"greeter\" }\n");
    let fix = r#"`"example:greet/greeter" = "greeter"` under `[components.formatter.imports]`"#;
    assert!(toml.contains(fix), "{toml}");
    let fix =
        r#"`"example:greet/greeter": greeter` in `components: { formatter: { imports: { … } } }`"#;
    assert!(rust.contains(fix), "{rust}");
    // Doing what the message says (that entry under that table) makes the plan emit.
    let fixed =
        format!("{plan}[components.formatter.imports]\n\"example:greet/greeter\" = \"greeter\"\n");
    let dir = checkout(&fixed);
    emit(&dir.path().join("compose.toml"), &EmitOptions::default())
        .expect("the suggested fix works as written");

    // Two do, for `app`: the fix says where to choose.
    let (_, toml, rust) = unbound_of("imports = { \"example:greet/greeter\" = \"formatter\" }\n");
    assert!(
        toml.contains(
            "`formatter` and `greeter` export it: wire one of them under `[components.app.imports]`"
        ),
        "{toml}"
    );
    assert!(
        rust.contains("wire one of them in `components: { app: { imports: { … } } }`"),
        "{rust}"
    );
}

#[test]
fn every_emit_error_has_its_code() {
    // A declared export the binary lacks.
    assert_eq!(
        codes(&CHAIN.replace(
            "exports = [\"example:greet/greeter\"]\n[components.formatter]",
            "exports = [\"example:greet/greeter\", \"example:greet/other\"]\n[components.formatter]"
        )),
        [Code::EmitMissingExport]
    );
    // Wired to a component whose binary does not export the interface.
    assert_eq!(
        codes(&CHAIN.replace("path = \"formatter.wasm\"", "path = \"probe.wasm\"")),
        [Code::EmitMissingExport, Code::EmitMissingExport]
    );
    // A missing file.
    assert_eq!(
        codes(&CHAIN.replace("path = \"greeter.wasm\"", "path = \"gone.wasm\"")),
        [Code::EmitSourceNotFound]
    );
    // An import the plan leaves unbound.
    assert_eq!(
        codes(&CHAIN.replace(
            "imports = { \"example:greet/greeter\" = \"formatter\" }\n",
            ""
        )),
        [Code::PlanUnboundImport]
    );
    // An OCI source.
    assert_eq!(
        codes(&CHAIN.replace(
            "path = \"greeter.wasm\"",
            "oci = \"oci://127.0.0.1:5000/greeter:1\""
        )),
        [Code::EmitUnsupportedSource]
    );
    // Nothing exported.
    assert_eq!(
        codes(&CHAIN.replace("[exports]\n\"wasi:cli/run\" = \"app\"\n", "")),
        [Code::EmitUnsupportedComposition]
    );
    // A declared identity that is not the component's.
    let wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    assert_eq!(
        codes(&CHAIN.replace("exports = [\"example:greet/greeter\"]\n[components.formatter]", &format!("exports = {{ \"example:greet/greeter\" = {{ wit = \"{wrong}\" }} }}\n[components.formatter]"))),
        [Code::EmitIdentityMismatch]
    );
    // Not a component at all.
    let dir = checkout(CHAIN);
    std::fs::write(dir.path().join("greeter.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let err = emit(&dir.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
    assert_eq!(err.diagnostics[0].code, Code::EmitInvalidComponent);
}

/// The greeter with the last byte of its first function body (its `end`) made `unreachable`:
/// every section still parses, so wasm-compose takes it (it does not check function bodies),
/// but the body is not valid. Validation of the output must find it: the inputs' code is
/// checked beside the composing and not checked again only where it was found valid.
#[test]
fn an_input_whose_code_is_not_valid_is_refused() {
    let dir = checkout(CHAIN);
    let path = dir.path().join("greeter.wasm");
    let mut bytes = std::fs::read(&path).unwrap();
    let end = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::CodeSectionEntry(body) => Some(body.range().end),
            _ => None,
        })
        .expect("the greeter has code");
    let end = usize::try_from(end).unwrap() - 1;
    assert_eq!(bytes[end], 0x0b, "a body ends with `end`");
    bytes[end] = 0x00;
    std::fs::write(&path, &bytes).unwrap();
    let err = emit(&dir.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1);
    assert_eq!(err.diagnostics[0].code, Code::EmitInvalidComponent);
    assert!(
        err.diagnostics[0]
            .message
            .contains("the composed component is not valid"),
        "{:?}",
        err.diagnostics[0].message
    );
    // The output, written to temporary files while it is validated (its store entry, the
    // file asked for), leaves nothing behind: whichever thread wrote them, they are gone
    // when emit returns.
    let cache = tempfile::tempdir().unwrap();
    let options = EmitOptions::default().cache(BlobStore::new(cache.path()), true);
    let out = tempfile::tempdir().unwrap();
    for _ in 0..10 {
        let err = emit_prepared(
            &dir.path().join("compose.toml"),
            &options,
            &out.path().join("out/composed.wasm"),
        )
        .unwrap_err();
        assert_eq!(err.diagnostics[0].code, Code::EmitInvalidComponent);
        let left: Vec<_> = std::fs::read_dir(out.path().join("out"))
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{left:?}");
        assert!(!cache.path().join("keys").exists(), "no emit key set");
    }
    // Nothing was stored: the inputs' entries are put in place with the output's, once it is
    // valid (whichever thread wrote them, and however late).
    let stored = std::fs::read_dir(cache.path().join("blobs/sha256")).map_or(0, |d| d.count());
    assert_eq!(stored, 0);
}

/// The output asked for is written while it is validated and appears only when committed;
/// so for a cache hit. What it holds is the emitted bytes.
#[test]
fn a_prepared_output_appears_when_committed() {
    let dir = checkout(CHAIN);
    let cache = tempfile::tempdir().unwrap();
    let options = EmitOptions::default().cache(BlobStore::new(cache.path()), true);
    let out = dir.path().join("new folder/composed.wasm");
    for cached in [false, true] {
        let (emitted, prepared) =
            emit_prepared(&dir.path().join("compose.toml"), &options, &out).unwrap();
        assert_eq!(emitted.cached, cached);
        let prepared = prepared.unwrap();
        assert_eq!(prepared.path(), out);
        if cached {
            assert_eq!(
                std::fs::read(&out).unwrap(),
                emitted.bytes,
                "the cold one's"
            );
            std::fs::write(&out, b"old").unwrap();
        } else {
            assert!(!out.exists());
        }
        prepared.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), emitted.bytes);
        let names: Vec<_> = std::fs::read_dir(out.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["composed.wasm"]);
    }
}

/// A greeter built from other WIT: `greet` takes a number. Wiring the app to it is a shape
/// mismatch, caught before composing.
#[test]
fn a_shape_mismatch_names_both_identities_and_the_difference() {
    let component = compose_wit::testing::component_from_wit(
        &[(
            "other.wit",
            "package example:greet@1.0.0;\ninterface greeter { greet: func(name: u32) -> string; }\nworld w { export greeter; }\n",
        )],
        "w",
    );
    let dir = checkout(CHAIN);
    std::fs::write(dir.path().join("greeter.wasm"), component).unwrap();
    let err = emit(&dir.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{}", err.render());
    let d = &err.diagnostics[0];
    assert_eq!(d.code, Code::EmitShapeMismatch);
    assert_eq!(
        d.path,
        "components.formatter.imports.\"example:greet/greeter\""
    );
    assert!(
        d.message.contains("function `greet` differs"),
        "{}",
        d.message
    );
    assert_eq!(d.message.matches("sha256:").count(), 2, "{}", d.message);
}

#[test]
fn crate_sources_are_built_and_failures_show_cargo_output() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"broken\"]\nresolver = \"3\"\n",
    )
    .unwrap();
    // Guests build with their workspace's toolchain: this one pins the project's.
    std::fs::copy(
        root().join("rust-toolchain.toml"),
        ws.path().join("rust-toolchain.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(ws.path().join("broken/src")).unwrap();
    std::fs::write(
        ws.path().join("broken/Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.path().join("broken/src/main.rs"),
        "fn main() { let x: u8 = \"not a number\"; }\n",
    )
    .unwrap();
    let plan = "[components.broken]\ncrate = \"broken\"\nexports = [\"wasi:cli/run\"]\n[exports]\n\"wasi:cli/run\" = \"broken\"\n";
    std::fs::write(ws.path().join("compose.toml"), plan).unwrap();
    let err = emit(&ws.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
    assert_eq!(err.diagnostics[0].code, Code::EmitGuestBuildFailed);
    assert!(
        err.diagnostics[0].message.contains("mismatched types"),
        "{}",
        err.diagnostics[0].message
    );
    std::fs::write(
        ws.path().join("compose.toml"),
        plan.replace("crate = \"broken\"", "crate = \"missing\""),
    )
    .unwrap();
    let err = emit(&ws.path().join("compose.toml"), &EmitOptions::default()).unwrap_err();
    assert_eq!(err.diagnostics[0].code, Code::EmitSourceNotFound);
    assert!(
        err.diagnostics[0].message.contains("`broken`"),
        "{}",
        err.diagnostics[0].message
    );
}

/// The id of `example:greet/greeter` is the same from the WIT source, from the Rust guest that
/// exports it, and from the Rust guests that import it.
#[test]
fn example_guests_agree_with_their_wit_source() {
    let source = compose_wit::Wit::from_path(&root().join("examples/guests/wit")).unwrap();
    let want = source.id(source.find("greeter").unwrap());
    for guest in ["greeter", "app", "formatter"] {
        let bytes = std::fs::read(&guests()[guest]).unwrap();
        let wit = compose_wit::Wit::from_component(guest, &bytes).unwrap();
        assert_eq!(
            wit.id(wit.find("example:greet/greeter@1.0.0").unwrap()),
            want,
            "{guest}"
        );
    }
}

/// A component importing `std:secrets` from the host is checked against the project's own
/// `wit/std-secrets`: built against it, the emit succeeds; built against an altered copy (here
/// `sign` takes a string), it is a shape mismatch at build time, not a link error at run time.
#[test]
fn host_imports_of_the_projects_packages_are_checked_against_its_wit() {
    let real = std::fs::read_to_string(root().join("wit/std-secrets/secrets.wit")).unwrap();
    let component = |secrets: &str| {
        let user = "package example:user@1.0.0;\ninterface job { run: func(); }\nworld w {\n  import std:secrets/store@1.0.0;\n  import std:secrets/operations@1.0.0;\n  export job;\n}\n";
        compose_wit::testing::component_from_wit(
            &[("secrets.wit", secrets), ("user.wit", user)],
            "w",
        )
    };
    let plan = r#"
[components.user]
path = "user.wasm"
exports = ["example:user/job"]
imports = { "std:secrets/store" = { host = "secrets" }, "std:secrets/operations" = { host = "secrets" } }
capabilities = { secrets = ["key"] }
[exports]
"example:user/job" = "user"
[secrets]
key = "env:KEY"
"#;
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("compose.toml");
    std::fs::write(&plan_path, plan).unwrap();

    std::fs::write(dir.path().join("user.wasm"), component(&real)).unwrap();
    if let Err(e) = emit(&plan_path, &EmitOptions::default()) {
        panic!("{}", e.render());
    }

    let altered = real.replace(
        "data: list<u8>) -> result<list<u8>, error>;",
        "data: string) -> result<list<u8>, error>;",
    );
    assert_ne!(altered, real, "the test alters `sign`");
    std::fs::write(dir.path().join("user.wasm"), component(&altered)).unwrap();
    let err = emit(&plan_path, &EmitOptions::default()).unwrap_err();
    let d = err
        .diagnostics
        .iter()
        .find(|d| d.code == Code::EmitShapeMismatch)
        .unwrap_or_else(|| panic!("{}", err.render()));
    assert_eq!(d.path, "components.user.imports.\"std:secrets/operations\"");
    assert!(
        d.message
            .contains("imports `std:secrets/operations@1.0.0` from the host")
            && d.message.contains("`sign`")
            && d.message.contains("wit/"),
        "{}",
        d.message
    );
}
