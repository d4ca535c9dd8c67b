//! trybuild UI tests: every diagnostic `compose!` can give, with its span, code and hint
//! (`tests/ui/*.rs` + `.stderr`; `TRYBUILD=overwrite` regenerates the `.stderr` files), and
//! invocations that compile and load (`tests/ui-pass/`).
//!
//! The cases compose small components built here from WIT (their functions do nothing, which
//! is all a compile-time check needs) and written to `<target>/tests/ui-fixtures/`; trybuild
//! compiles each case in `<target>/tests/trybuild/compose-macros/`, so the cases name them as
//! `../../ui-fixtures/…`, and this crate's files as `../../../../compose-macros/…`.

use std::path::PathBuf;

const GREET: &str = "package example:greet@1.0.0;
interface greeter { greet: func(name: string) -> string; }
world provider { export greeter; }
world user { import greeter; export app; }
interface app { main: func() -> string; }
";

const GREET_V2: &str = "package example:greet@1.0.0;
interface greeter { greet: func(name: string, excited: bool) -> string; }
world provider { export greeter; }
";

fn target_dir() -> PathBuf {
    // target/<profile>/deps/ui-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn write_fixtures() {
    let dir = target_dir().join("tests/ui-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = [
        ("greeter.wasm", GREET, "provider"),
        ("user.wasm", GREET, "user"),
        ("greeter-v2.wasm", GREET_V2, "provider"),
    ];
    for (file, wit, world) in fixtures {
        let bytes = compose_wit::testing::component_from_wit(&[("greet.wit", wit)], world);
        if std::fs::read(dir.join(file)).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
    }
}

#[test]
fn ui() {
    write_fixtures();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
