//! Reading a plan file for emit, the build helper and `compose!` with a path: the one reader
//! (`compose_model::plan::from_file_bytes`) behind every front end, with a read failure as a
//! coded error naming the file.

use std::path::Path;

use compose_model::Code;
use compose_model::plan::{self, Diagnostic, PlanFile};

use crate::EmitError;

/// Reads and checks a plan file (TOML or canonical CBOR), keeping its text and spans for errors
/// found later.
pub(crate) fn read_plan(path: &Path) -> Result<PlanFile, EmitError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| EmitError {
        file: file.clone(),
        source: None,
        diagnostics: vec![Diagnostic::new(
            Code::EmitSourceNotFound,
            "",
            format!("cannot read the plan `{file}`: {e}; check the path"),
        )],
    })?;
    plan::read_file(path, &bytes).map_err(|(diagnostics, source)| EmitError {
        file,
        source,
        diagnostics,
    })
}
