//! `cargo test-lean` (`cargo xtask test-lean`): the examples' tests, each group built as a user's
//! crate builds it, alone. Cargo unifies a dependency's features across the packages of one
//! command, so testing `hello-cli` with `hello-http` would give `hello-cli` the server
//! (`serve`) it does not ask for; one command per set of compose-runtime features keeps each
//! build as lean as its user's. None of them has the compiler (`jit`), which composectl turns
//! on in a workspace build.

use anyhow::Result;

use crate::util::{self, cargo};

/// The examples, grouped by the compose-runtime features they ask for.
const GROUPS: &[&[&str]] = &[
    // None but `macros` (the default): CLI compositions.
    &["hello-cli", "typed-api"],
    // None at all (`default-features = false`: a build script, no macro).
    &["hello-build"],
    // `serve`.
    &["hello-http"],
    // `vault`.
    &["signed-hello"],
];

/// Runs every group's tests; `extra` is passed to each `cargo test` (after the packages).
pub fn run(extra: &[String]) -> Result<()> {
    for group in GROUPS {
        let mut test = cargo();
        test.arg("test");
        for package in *group {
            test.args(["-p", package]);
        }
        test.args(extra);
        util::run(test)?;
    }
    Ok(())
}
