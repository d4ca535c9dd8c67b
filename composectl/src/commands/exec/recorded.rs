//! `exec run X.wasm` without `--plan`: the plan the component records, cut down to what a
//! bare component may have without the user's consent, plus `--allow`
//! (`compose_model::plan::recorded`).

use std::path::Path;

use anyhow::{Context, Result};
use compose_model::Code;
use compose_model::plan::Plan;
use compose_model::plan::recorded::{self, Allow, BareError};

use super::super::report::JsonOut;
use crate::failure::Coded;

/// Reads `--allow` values, making relative host folders absolute: they are the user's,
/// relative to where the user stands, and a plan's relative paths mean something else.
pub(super) fn parse_allows(values: &[String]) -> Result<Vec<Allow>> {
    let mut out = Vec::new();
    for v in values {
        let mut allow = Allow::parse(v).map_err(Coded::usage)?;
        if let Allow::Dir(d) = &mut allow
            && Path::new(&d.host).is_relative()
        {
            d.host = std::path::absolute(&d.host)
                .with_context(|| format!("`--allow {v}`: cannot make `{}` absolute", d.host))?
                .display()
                .to_string();
        }
        out.push(allow);
    }
    Ok(out)
}

/// The plan the component `bytes` (read from `input`) runs under when the user gives none:
/// its recorded plan's wiring, [`recorded::BARE_GRANTS`] of its grants, and `allows`.
/// `None` after printing why when it cannot run so (exit 1, with the error's code).
pub(super) fn bare_plan(
    input: &Path,
    bytes: &[u8],
    allows: &[Allow],
    out: &JsonOut,
) -> Result<Option<Plan>> {
    let name = input.display();
    let recorded = match compose_runtime::recorded_plan(bytes) {
        Ok(r) => r,
        Err(e) => {
            out.error(e.code, &e.message, &e.to_string())?;
            return Ok(None);
        }
    };
    let Some(recorded) = recorded else {
        if !allows.is_empty() {
            return Err(Coded::usage(format!(
                "`{name}` records no plan (it was not emitted by composectl), so `--allow` has nothing to add to; give its plan with `--plan PLAN`"
            )));
        }
        eprintln!(
            "note: `{name}` records no plan (it was not emitted by composectl) and no `--plan` was given: nothing is granted to it, not even stdout"
        );
        return Ok(Some(Plan::new()));
    };
    match recorded::bare(&recorded, allows) {
        Ok(bare) => {
            for note in &bare.notes {
                eprintln!("note: {note}");
            }
            Ok(Some(bare.plan))
        }
        Err(BareError::Unrequested(why)) => Err(Coded::usage(why)),
        Err(BareError::Refused(lines)) => {
            let message = format!(
                "`{name}` runs under the plan recorded in it, whose grants beyond stdout, stderr, args, clocks and random need your consent, so it will not run:\n  {}",
                lines.join("\n  ")
            );
            let code = Code::ExecCapabilityRefused;
            out.error(code, &message, &format!("error[{code}]: {message}"))?;
            Ok(None)
        }
        Err(e) => Err(Coded::usage(format!("{e:?}"))),
    }
}
