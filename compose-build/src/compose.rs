//! Composing resolved components into one with wasm-compose's composition graph, and
//! validating the result.

use std::collections::{BTreeMap, HashMap};

use compose_model::Code;
use compose_model::host::same_interface;
use compose_model::plan::{Binding, Diagnostic, Fix, FixValue, Plan, Syntax};
use wasm_compose::graph::{CompositionGraph, EncodeOptions};
use wasmparser::{
    BinaryReaderError, FuncToValidate, FunctionBody, Parser, ValidPayload, Validator,
    ValidatorResources,
};

use crate::source::Resolved;

/// Instantiates every component, connects every wire, and exports the root component's
/// exports. Components are added in name order, so the output depends only on the inputs.
/// `plan_cbor` is the plan's canonical CBOR, which the output records.
///
/// It reads import and export names from the binaries alone, so it can run while the WIT
/// shape checks (`emit::check`) run on another thread; their diagnostics come first.
pub(crate) fn compose(
    plan: &Plan,
    plan_cbor: &[u8],
    resolved: &BTreeMap<String, Resolved>,
) -> Result<Vec<u8>, Diagnostic> {
    let invalid =
        |path: &str, what: String| Diagnostic::new(Code::EmitInvalidComponent, path, what);
    let roots: std::collections::BTreeSet<&str> = plan
        .exports
        .values()
        .map(|w| w.component.as_str())
        .collect();
    let root = match roots.len() {
        1 => *roots.iter().next().expect("one root"),
        0 => {
            let fix = Fix::entry(
                &["exports"],
                "wasi:cli/run@0.2.0",
                FixValue::Word("app".into()),
            );
            return Err(Diagnostic::new(
                Code::EmitUnsupportedComposition,
                "exports",
                format!(
                    "the plan exports nothing, so the composition would do nothing; add an export, e.g. {}",
                    fix.render(Syntax::Toml)
                ),
            )
            .with_fix(fix));
        }
        _ => {
            return Err(Diagnostic::new(
                Code::EmitUnsupportedComposition,
                "exports",
                format!(
                    "the composition's exports come from several components ({}); wasm-compose exports one component's exports, so route them through one component",
                    roots
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    };
    let mut graph = CompositionGraph::new();
    let mut validator = wasmparser::Validator::new();
    let mut ids = BTreeMap::new();
    // Components with the same bytes are one definition, instantiated once per plan
    // component (a chain of one formatter 200 times is one formatter in the output, as `wac`
    // writes it): each is validated, and its bytes written, once. The definition takes the
    // name of the first such component in name order.
    let mut defined = HashMap::new();
    for (name, r) in resolved {
        let cid = match defined.get(&r.digest) {
            Some(&cid) => cid,
            None => {
                let component = wasm_compose::graph::Component::from_bytes(
                    &mut validator,
                    name.clone(),
                    &r.bytes[..],
                )
                .map_err(|e| {
                    invalid(
                        &format!("components.{name}"),
                        format!("component `{name}` is not valid: {e:#}"),
                    )
                })?;
                let cid = graph
                    .add_component(component)
                    .map_err(|e| invalid(&format!("components.{name}"), format!("{e:#}")))?;
                defined.insert(r.digest, cid);
                cid
            }
        };
        let iid = graph
            .instantiate(cid)
            .map_err(|e| invalid(&format!("components.{name}"), format!("{e:#}")))?;
        ids.insert(name.clone(), (cid, iid));
    }
    // Every import a plan wire binds: (import's component, import name, plan key, wire).
    let mut wires = Vec::new();
    for (name, c) in &plan.components {
        let Some(&(cid, _)) = ids.get(name) else {
            continue;
        };
        let component = graph.get_component(cid).expect("added above");
        for (_, import, _) in component.imports() {
            if let Some((key, Binding::Component(w))) =
                c.imports.iter().find(|(k, _)| same_interface(import, k))
            {
                wires.push((name, import.to_owned(), key, w));
            }
        }
    }
    for (name, import, key, w) in wires {
        let path = format!("components.{name}.imports.{key:?}");
        let wanted = w.export.as_deref().unwrap_or(&import);
        let Some(&(src_c, src_i)) = ids.get(&w.component) else {
            continue; // an unknown component is a plan error, reported by the checks
        };
        let (dst_c, dst_i) = ids[name];
        let export = graph.get_component(src_c).and_then(|c| {
            c.exports()
                .find(|(_, n, ..)| same_interface(n, wanted))
                .map(|(i, n, ..)| (i, n.to_owned()))
        });
        let import_index = graph
            .get_component(dst_c)
            .and_then(|c| c.import_by_name(&import))
            .map(|(i, _)| i);
        let (Some((export, export_name)), Some(import_index)) = (export, import_index) else {
            return Err(invalid(
                &path,
                format!(
                    "cannot find `{wanted}` in `{}` or `{import}` in `{name}` in the binaries",
                    w.component
                ),
            ));
        };
        graph
            .connect(src_i, Some(export), dst_i, import_index)
            .map_err(|e| Diagnostic::new(Code::EmitShapeMismatch, path.clone(), format!("`{name}`'s import `{import}` cannot take `{}`'s export `{export_name}`: {e:#}", w.component)))?;
    }
    let (_, root_instance) = ids[root];
    let mut bytes = graph
        .encode(EncodeOptions {
            define_components: true,
            export: Some(root_instance),
            validate: false, // validated once, below
        })
        .map_err(|e| invalid("", format!("the composed component is not valid: {e:#}")))?;
    record_plan(&mut bytes, plan_cbor);
    validate(&bytes)
        .map_err(|e| invalid("", format!("the composed component is not valid: {e}")))?;
    Ok(bytes)
}

/// Appends the plan's canonical CBOR (`plan_cbor`) in a custom section of the component's own (not of
/// a nested one), so `exec run X.wasm` knows the wiring and requests it was emitted for
/// (`compose_model::plan::recorded`). Part of the bytes, so the component's digest covers it.
fn record_plan(component: &mut Vec<u8>, plan_cbor: &[u8]) {
    use wasm_encoder::{ComponentSection, CustomSection};
    let section = CustomSection {
        name: compose_model::plan::recorded::SECTION.into(),
        data: plan_cbor.into(),
    };
    section.append_to_component(component);
}

/// How much function code (bytes) makes starting another validating thread worth it. On a
/// small composition, starting a thread costs about what it saves (measured on the
/// two-component example, 110 KiB of code, on two cores).
const CODE_PER_THREAD: usize = 256 * 1024;

/// Validates a whole component, as `Validator::validate_all` does, with the function bodies
/// (almost all of the work: the output embeds every input's code) checked on all cores when
/// there is enough of it. The error reported is the first in the binary's order, whatever
/// thread found it.
pub(crate) fn validate(bytes: &[u8]) -> Result<(), BinaryReaderError> {
    validate_sharing(bytes, CODE_PER_THREAD)
}

/// [`validate`], starting a thread per `code_per_thread` bytes of function code (up to the
/// number of cores).
fn validate_sharing(bytes: &[u8], code_per_thread: usize) -> Result<(), BinaryReaderError> {
    type Func<'a> = (usize, FuncToValidate<ValidatorResources>, FunctionBody<'a>);
    let mut validator = Validator::new();
    let mut funcs: Vec<Func<'_>> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let ValidPayload::Func(func, body) = validator.payload(&payload?)? {
            funcs.push((funcs.len(), func, body));
        }
    }
    let code: usize = funcs.iter().map(|(_, _, body)| body.as_bytes().len()).sum();
    let threads = match code / code_per_thread.max(1) {
        0 | 1 => 1, // (and no need to ask how many cores there are)
        wanted => std::thread::available_parallelism().map_or(1, |n| n.get().min(wanted)),
    };
    // Interleaved shares balance large and small functions well enough.
    let mut shares: Vec<Vec<Func<'_>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, f) in funcs.into_iter().enumerate() {
        shares[i % threads].push(f);
    }
    let check = |share: Vec<Func<'_>>| -> Option<(usize, BinaryReaderError)> {
        let mut allocations = Default::default();
        for (index, func, body) in share {
            let mut v = func.into_validator(allocations);
            if let Err(e) = v.validate(&body) {
                return Some((index, e));
            }
            allocations = v.into_allocations();
        }
        None
    };
    let mut shares = shares.into_iter();
    let first = shares.next().unwrap_or_default();
    let errors: Vec<(usize, BinaryReaderError)> = std::thread::scope(|s| {
        let others: Vec<_> = shares.map(|share| s.spawn(move || check(share))).collect();
        let mut errors: Vec<_> = check(first).into_iter().collect();
        for h in others {
            errors.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        errors
    });
    match errors.into_iter().min_by_key(|(i, _)| *i) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{validate, validate_sharing};

    /// A component with one core module of `n` functions; `bad` lists the ones whose body
    /// leaves the stack empty where they promise an `i32`.
    fn component(n: usize, bad: &[usize]) -> Vec<u8> {
        let funcs: String = (0..n)
            .map(|i| {
                if bad.contains(&i) {
                    format!("(func $f{i} (result i32))\n")
                } else {
                    format!(
                        "(func $f{i} (param i32) (result i32) local.get 0 i32.const {i} i32.add)\n"
                    )
                }
            })
            .collect();
        wat::parse_str(format!("(component (core module {funcs}))")).unwrap()
    }

    #[test]
    fn agrees_with_validate_all() {
        for (n, bad) in [
            (0, vec![]),
            (1, vec![]),
            (100, vec![]),
            (100, vec![0]),
            (100, vec![57]),
            (100, vec![99, 3, 40]), // the first in the binary is reported
        ] {
            let bytes = component(n, &bad);
            let theirs = wasmparser::Validator::new()
                .validate_all(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string());
            // One thread (these are small), and as many threads as there are cores.
            for ours in [validate(&bytes), validate_sharing(&bytes, 1)] {
                let ours = ours.map_err(|e| e.to_string());
                assert_eq!(ours, theirs, "{n} functions, bad: {bad:?}");
                assert_eq!(ours.is_err(), !bad.is_empty());
            }
        }
    }
}
