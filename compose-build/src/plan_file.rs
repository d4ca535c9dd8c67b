//! Reading a plan file for emit, the build helper and `compose!` with a path: the one reader
//! (`compose_model::plan::from_file_bytes`) behind every front end, with a read failure as a
//! coded error naming the file.

use std::path::Path;

use compose_model::Code;
use compose_model::plan::{self, Diagnostic, Plan};

use crate::EmitError;

/// Reads and checks a plan file (TOML or canonical CBOR); returns the TOML text for spans.
pub(crate) fn read_plan(path: &Path) -> Result<(Plan, Option<String>), EmitError> {
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
    let (result, source) = plan::from_file_bytes(path, &bytes);
    match result {
        Ok(p) => Ok((p, source)),
        Err(diagnostics) => Err(EmitError {
            file,
            source,
            diagnostics,
        }),
    }
}
