//! The build-script front end: outputs, generated code, the files to watch, errors with
//! file:line:col, and no rewrite when nothing changed.

use std::path::{Path, PathBuf};

use compose_model::Code;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn config(out: &Path, cache: &Path) -> compose_build::Config {
    let mut c = compose_build::Config::new();
    c.manifest_dir(root().join("examples/hello-build"))
        .workspace("../guests")
        .guest_target_dir(root().join("target/guests"))
        .cache_dir(cache)
        .out_dir(out)
        .precompile(false);
    c
}

#[test]
fn compiles_a_plan_into_outputs_and_generated_code() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let compiled = config(out.path(), cache.path())
        .try_compile(Path::new("compose.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = out.path().join("compose/hello");
    for f in ["plan.cbor", "component.wasm"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert!(!dir.join("component.cwasm").exists());
    assert_eq!(compiled.rust_file, out.path().join("compose/hello.rs"));
    let rust = std::fs::read_to_string(&compiled.rust_file).unwrap();
    assert!(rust.contains("pub struct Hello"), "{rust}");
    assert!(
        rust.contains("OUT_DIR"),
        "outputs are named relative to OUT_DIR"
    );
    // The plan's CBOR is embedded; its digest is the plan's.
    let plan = std::fs::read(dir.join("plan.cbor")).unwrap();
    assert!(rust.contains(&compose_model::Digest::of(&plan).to_string()));
    // Not precompiled, so compiled at load: a crate whose compose-runtime has no compiler
    // fails to compile, with E0512, rather than building a binary that cannot run.
    assert!(
        rust.contains("assert ! (:: compose_runtime :: JIT"),
        "{rust}"
    );
    assert!(rust.contains("E0512: `hello` is not precompiled"), "{rust}");

    // Every file read is watched: the plan, the guests' sources and the WIT they use.
    let names: Vec<String> = compiled
        .files
        .iter()
        .map(|f| f.to_string_lossy().replace('\\', "/"))
        .collect();
    for want in [
        "hello-build/compose.toml",
        "guests/greeter/src/lib.rs",
        "guests/app/src/main.rs",
        "guests/wit/greet.wit",
        "guests/greeter/Cargo.toml",
        "guests/Cargo.lock",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(want)),
            "{want} in {names:#?}"
        );
    }

    // A second compile with nothing changed rewrites nothing, so cargo rebuilds nothing.
    let before = std::fs::metadata(dir.join("component.wasm"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    config(out.path(), cache.path())
        .try_compile(Path::new("compose.toml"))
        .unwrap();
    let after = std::fs::metadata(dir.join("component.wasm"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

/// A plan that grants `attest` compiles only where compose-runtime signs evidence: the
/// generated code asserts `ATTEST`, so a crate without the feature fails to compile, with
/// E0214, rather than at load. A plan without the grant has no such assertion.
#[test]
fn a_plan_granting_attest_needs_the_attest_feature() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("attest.toml");
    std::fs::write(
        &plan,
        "name = \"attest\"\n[components.attester]\ncrate = \"attester\"\nexports = [\"wasi:cli/run\"]\nimports = { \"std:attest/attestation\" = { host = \"attest\" } }\ncapabilities = { stdout = \"required\", attest = \"optional\" }\n[exports]\n\"wasi:cli/run\" = \"attester\"\n[grants]\nstdout = true\nattest = true\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let compiled = config(out.path(), dir.path())
        .try_compile(&plan)
        .unwrap_or_else(|e| panic!("{e}"));
    let rust = std::fs::read_to_string(&compiled.rust_file).unwrap();
    assert!(
        rust.contains("assert ! (:: compose_runtime :: ATTEST"),
        "{rust}"
    );
    assert!(rust.contains("E0214: `attest` grants `attest`"), "{rust}");
    let out = tempfile::tempdir().unwrap();
    let hello = config(out.path(), dir.path())
        .try_compile(Path::new("compose.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rust = std::fs::read_to_string(&hello.rust_file).unwrap();
    assert!(!rust.contains("ATTEST"), "{rust}");
}

/// Likewise a plan that names an audit log compiles only where compose-runtime writes one.
#[test]
fn a_plan_naming_an_audit_log_needs_the_audit_feature() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("audit.toml");
    std::fs::write(
        &plan,
        "name = \"audit\"\n[components.app]\ncrate = \"app\"\nexports = [\"wasi:cli/run\"]\nimports = { \"example:greet/greeter\" = \"greeter\" }\ncapabilities = { stdout = \"required\" }\n[components.greeter]\ncrate = \"greeter\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"wasi:cli/run\" = \"app\"\n[grants]\nstdout = true\n[observability]\naudit = \"file:audit.log\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let compiled = config(out.path(), dir.path())
        .try_compile(&plan)
        .unwrap_or_else(|e| panic!("{e}"));
    let rust = std::fs::read_to_string(&compiled.rust_file).unwrap();
    assert!(
        rust.contains("assert ! (:: compose_runtime :: AUDIT"),
        "{rust}"
    );
    assert!(rust.contains("E0214: `audit` names an audit log"), "{rust}");
    assert!(!rust.contains("ATTEST"), "{rust}");
}

/// Likewise a plan that serves `wasi:http` compiles only where compose-runtime has the server
/// (its `serve` feature); a CLI plan does not ask for it.
#[test]
fn a_plan_that_serves_needs_the_serve_feature() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let compiled = config(out.path(), cache.path())
        .try_compile(&root().join("examples/guests/http.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rust = std::fs::read_to_string(&compiled.rust_file).unwrap();
    assert!(
        rust.contains("assert ! (:: compose_runtime :: SERVE"),
        "{rust}"
    );
    assert!(
        rust.contains("E0214: `hello-http` exports `wasi:http/incoming-handler`"),
        "{rust}"
    );
    let out = tempfile::tempdir().unwrap();
    let hello = config(out.path(), cache.path())
        .try_compile(Path::new("compose.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rust = std::fs::read_to_string(&hello.rust_file).unwrap();
    assert!(!rust.contains("SERVE"), "{rust}");
}

#[test]
fn errors_point_into_the_plan_file_and_still_name_it_for_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("compose.toml");
    std::fs::write(
        &plan,
        "[components.app]\ncrate = \"app\"\nexports = [\"wasi:cli/run\"]\nimports = { \"example:greet/greeter\" = \"greter\" }\n[exports]\n\"wasi:cli/run\" = \"app\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = config(out.path(), dir.path())
        .try_compile(&plan)
        .unwrap_err();
    let codes: Vec<Code> = err.error.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![Code::PlanUnknownComponent]);
    assert!(err.files.contains(&plan));
    let text = err.to_string();
    assert!(text.contains("compose.toml:4:"), "{text}");
}

#[test]
fn a_missing_plan_file_is_a_coded_error() {
    let out = tempfile::tempdir().unwrap();
    let err = config(out.path(), out.path())
        .try_compile(Path::new("no-such.toml"))
        .unwrap_err();
    assert_eq!(err.error.diagnostics[0].code, Code::EmitSourceNotFound);
}

#[test]
fn an_unwritable_output_folder_is_a_coded_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the output folder should be: nothing can be written below it.
    let out = dir.path().join("out");
    std::fs::write(&out, b"not a folder").unwrap();
    let err = config(&out, &dir.path().join("cache"))
        .try_compile(Path::new("compose.toml"))
        .unwrap_err();
    let d = &err.error.diagnostics[0];
    assert_eq!(d.code, Code::EmitWriteFailed, "{}", err.error);
    assert!(d.message.contains("cannot write"), "{}", d.message);
    // The plan is still watched, so fixing things reruns the build script.
    assert!(err.files.iter().any(|f| f.ends_with("compose.toml")));
}

/// `Config::sign_key` signs the composition at build time and embeds the bundle, a statement
/// naming the component and the plan; bundles in the blob store for the component are embedded
/// too. A key others can read stops the build with its code.
#[test]
fn a_signing_key_embeds_a_composition_statement() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("release.key");
    let public = compose_trust::keys::generate(&key).unwrap().key;
    let compiled = config(out.path(), cache.path())
        .sign_key(&key)
        .try_compile(Path::new("compose.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let b = &compiled.bundle;
    assert_eq!(b.signatures.len(), 1);
    let rust = std::fs::read_to_string(&compiled.rust_file).unwrap();
    assert!(rust.contains("with_bundles"), "{rust}");
    let files = [compose_trust::verify::BundleFile {
        origin: "embedded".into(),
        json: b.signatures[0].clone().into_bytes(),
    }];
    let policy = compose_trust::Policy::new(vec![compose_trust::Accepted::Key(public)]).unwrap();
    let verified = compose_trust::verify::verify(
        "c",
        &compose_trust::Artifact::new(&b.emitted.bytes),
        &files,
        "",
        &policy,
    )
    .unwrap();
    assert!(verified.plans().contains(&b.emitted.plan_digest));

    // A bundle already in the store for this component is embedded as well.
    let dir = compose_trust::locate::in_store(
        &compose_model::blobs::BlobStore::new(cache.path()),
        &b.emitted.digest,
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x.sigstore.json"), &b.signatures[0]).unwrap();
    let again = config(out.path(), cache.path())
        .try_compile(Path::new("compose.toml"))
        .unwrap();
    assert_eq!(again.bundle.signatures, b.signatures);

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = config(out.path(), cache.path())
        .sign_key(&key)
        .try_compile(Path::new("compose.toml"))
        .unwrap_err();
    assert!(format!("{e}").contains("E0709"), "{e}");
}

/// `Config::provenance` writes the build's SLSA statement next to the outputs and embeds it:
/// the same bytes on a rebuild, naming the component, the plan by its file name and the
/// builder, with no folder of the machine in it; with a signing key it is a bundle that
/// verifies over the composed component, and the unsigned file from before is gone.
#[test]
fn provenance_is_written_embedded_and_signed_with_the_builds_key() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let compiled = config(out.path(), cache.path())
        .provenance(true)
        .try_compile(Path::new("compose.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let b = &compiled.bundle;
    let (path, embedded) = b.provenance.clone().expect("asked for");
    assert!(path.ends_with("compose/hello/provenance.json"), "{path:?}");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, embedded);
    let text = String::from_utf8(bytes.clone()).unwrap();
    for folder in [out.path(), cache.path(), &root()] {
        let folder = folder.to_string_lossy();
        assert!(!text.contains(folder.as_ref()), "{folder} in {text}");
    }
    let s: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(s["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(s["subject"][0]["name"], "component.wasm");
    assert_eq!(s["subject"][0]["digest"]["sha256"], b.emitted.digest.hex());
    let definition = &s["predicate"]["buildDefinition"];
    assert_eq!(
        definition["externalParameters"]["plan"]["name"],
        "compose.toml"
    );
    assert_eq!(
        s["predicate"]["runDetails"]["builder"]["id"],
        "https://example.invalid/compose/compose-build"
    );
    let inputs = definition["resolvedDependencies"].as_array().unwrap();
    assert!(
        inputs.iter().any(|d| d["name"] == "components.greeter"),
        "{inputs:?}"
    );
    let rust = std::fs::read_to_string(&compiled.rust_file).unwrap();
    assert!(rust.contains("pub const PROVENANCE"), "{rust}");
    // Reproducible: a rebuild writes the same statement.
    config(out.path(), cache.path())
        .provenance(true)
        .try_compile(Path::new("compose.toml"))
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("release.key");
    let public = compose_trust::keys::generate(&key).unwrap().key;
    let signed = config(out.path(), cache.path())
        .provenance(true)
        .sign_key(&key)
        .try_compile(Path::new("compose.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (signed_path, _) = signed.bundle.provenance.clone().unwrap();
    assert!(signed_path.ends_with("provenance.sigstore.json"));
    assert!(
        !path.exists(),
        "the unsigned statement of the earlier build is removed"
    );
    let files = [compose_trust::verify::BundleFile {
        origin: "provenance".into(),
        json: std::fs::read(&signed_path).unwrap(),
    }];
    let policy = compose_trust::Policy::new(vec![compose_trust::Accepted::Key(public)]).unwrap();
    let verified = compose_trust::verify::verify(
        "c",
        &compose_trust::Artifact::new(&signed.bundle.emitted.bytes),
        &files,
        "",
        &policy,
    )
    .unwrap();
    assert!(
        verified
            .claims
            .iter()
            .any(|c| c.predicate_type == "https://slsa.dev/provenance/v1"
                && c.predicate == s["predicate"])
    );

    // Off again: no provenance file is left to describe another build.
    let off = config(out.path(), cache.path())
        .try_compile(Path::new("compose.toml"))
        .unwrap();
    assert!(off.bundle.provenance.is_none());
    assert!(!signed_path.exists());
}
