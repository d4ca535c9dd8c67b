//! Reading the plan an emitted component records (`compose_model::plan::recorded`).

use compose_model::Code;
use compose_model::plan::{self, Plan, recorded::SECTION};
use wasmparser::{Chunk, Parser, Payload};

use crate::ExecError;

/// The plan recorded in `component`'s own custom section (not a nested component's or
/// module's), if it has one. A section that is not a valid canonical plan, or two of them, is
/// an error: a component that records a plan says what it was emitted for, and a garbled
/// record is not the same as none.
pub fn recorded_plan(component: &[u8]) -> Result<Option<Plan>, ExecError> {
    let invalid = |why: String| {
        ExecError::new(
            Code::ExecInvalidComponent,
            format!("the component's recorded plan (custom section `{SECTION}`) {why}"),
        )
    };
    let mut parser = Parser::new(0);
    let mut rest = component;
    let mut found: Option<&[u8]> = None;
    loop {
        let payload = match parser.parse(rest, true) {
            Ok(Chunk::Parsed { consumed, payload }) => {
                rest = &rest[consumed..];
                payload
            }
            // Not possible with `eof = true`.
            Ok(Chunk::NeedMoreData(_)) => break,
            Err(e) => {
                return Err(ExecError::new(
                    Code::ExecInvalidComponent,
                    format!("not a valid component: {e}"),
                ));
            }
        };
        match payload {
            // Nested modules and components are skipped whole: their sections are not ours.
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                let len = usize::try_from(unchecked_range.end - unchecked_range.start)
                    .unwrap_or(usize::MAX);
                rest = &rest[len.min(rest.len())..];
            }
            Payload::CustomSection(c) if c.name() == SECTION => {
                if found.replace(c.data()).is_some() {
                    return Err(invalid("appears twice".into()));
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    let Some(cbor) = found else {
        return Ok(None);
    };
    plan::from_cbor(cbor).map(Some).map_err(|d| {
        let why: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        invalid(format!("is not a valid plan: {}", why.join("; ")))
    })
}
