//! Composing resolved components into one with wasm-compose's composition graph, and
//! validating the result.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};

use compose_model::Code;
use compose_model::host::same_interface;
use compose_model::plan::{Binding, Diagnostic, Fix, FixValue, Plan, Syntax};
use wasm_compose::graph::{CompositionGraph, EncodeOptions};

use crate::source::{Input, Resolved};

/// Instantiates every component, connects every wire, exports the root component's exports
/// and validates the result. Components are added in name order, so the output depends only
/// on the inputs. `plan_cbor` is the plan's canonical CBOR, which the output records.
///
/// A helper thread shares the work when it can, and this thread never waits for it to start
/// (`beside::detach`): from the time it starts, the helper validates each distinct input's
/// core modules, so that checking the output need not check the code of those it has found
/// valid by then (`validate`); then it hashes the inputs not hashed yet (`Input::digest`:
/// the caller takes their digests afterwards); and whichever thread is free first runs
/// `beside` on the output's bytes (the caller's work that needs them but not their validity,
/// such as hashing them, or writing them to temporary files to put in place once valid).
/// `beside`'s result is returned with the bytes; when the output is not valid, it is dropped
/// before this returns.
///
/// It reads import and export names from the binaries alone, so it can run while the WIT
/// shape checks (`emit::check`) run on another thread; their diagnostics come first.
pub(crate) fn compose<R, B>(
    plan: &Plan,
    plan_cbor: &[u8],
    resolved: &BTreeMap<String, Resolved>,
    beside: B,
) -> Result<(Vec<u8>, R), Diagnostic>
where
    R: Send + 'static,
    B: FnOnce(&[u8]) -> R + Send + 'static,
{
    let distinct = crate::source::distinct(resolved.values().map(|r| &r.input));
    let checked = Arc::new(crate::validate::Checked::default());
    // `beside`, for whichever thread takes it first.
    let beside = Arc::new(Mutex::new(Some(beside)));
    let (give_output, take_output) = mpsc::sync_channel::<Arc<Vec<u8>>>(1);
    let (give_result, take_result) = mpsc::sync_channel::<R>(1);
    {
        let (checked, beside) = (Arc::clone(&checked), Arc::clone(&beside));
        crate::beside::detach(move || {
            let bytes: Vec<Arc<[u8]>> = distinct.iter().map(|i| Arc::clone(&i.bytes)).collect();
            crate::validate::inputs(&bytes, &checked);
            for input in &distinct {
                let _ = input.digest();
            }
            // (no output when composing failed: the sender is then dropped unused)
            let Ok(bytes) = take_output.recv() else {
                return;
            };
            let work = beside.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(work) = work {
                let _ = give_result.send(work(&bytes));
            }
        });
    }
    let composed = (|| {
        let bytes = Arc::new(encode(plan, plan_cbor, resolved)?);
        let _ = give_output.send(Arc::clone(&bytes));
        crate::validate::output(&bytes, Some(&checked)).map_err(|e| {
            Diagnostic::new(
                Code::EmitInvalidComponent,
                "",
                format!("the composed component is not valid: {e}"),
            )
        })?;
        Ok(bytes)
    })();
    checked.stop(); // (the helper's findings are of no more use)
    drop(give_output);
    let mine = beside.lock().unwrap_or_else(|p| p.into_inner()).take();
    let besides = settle(mine, composed.as_ref().ok().map(|b| &b[..]), &take_result);
    let bytes = composed?;
    let besides = besides.expect("the helper, having taken `beside`, runs it to the end");
    // The helper may still hold its share of the bytes (it lets go at once): then they are
    // copied.
    let bytes = Arc::try_unwrap(bytes).unwrap_or_else(|shared| (*shared).clone());
    Ok((bytes, besides))
}

/// `beside`'s result: run here if the helper has not taken it (`mine`) and the output is valid
/// (`valid`); the helper's otherwise, waited for even when the output is not valid, so that
/// what it made (files written to be put in place once valid) is dropped before [`compose`]
/// returns, not left to a thread that may outlive the process.
fn settle<R>(
    mine: Option<impl FnOnce(&[u8]) -> R>,
    valid: Option<&[u8]>,
    helpers: &mpsc::Receiver<R>,
) -> Option<R> {
    match (mine, valid) {
        (Some(work), Some(bytes)) => Some(work(bytes)), // (the helper was not free in time)
        (Some(_), None) => None,
        (None, _) => helpers.recv().ok(),
    }
}

/// The composition's bytes, not yet validated as a whole ([`compose`]).
fn encode(
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
    let mut defined: Vec<(&Input, _)> = Vec::new();
    for (name, r) in resolved {
        let cid = match defined.iter().find(|(i, _)| i.same_bytes(&r.input)) {
            Some(&(_, cid)) => cid,
            None => {
                let component = wasm_compose::graph::Component::from_bytes(
                    &mut validator,
                    name.clone(),
                    &r.input.bytes[..],
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
                defined.push((&r.input, cid));
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
            validate: false, // validated once, by `compose`
        })
        .map_err(|e| invalid("", format!("the composed component is not valid: {e:#}")))?;
    record_plan(&mut bytes, plan_cbor);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    /// What `beside` made: a temporary file, say. Dropping it is what matters.
    struct Made(Arc<AtomicBool>);

    impl Drop for Made {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// When the helper has taken `beside` and the output turns out not valid, what it makes
    /// is dropped before `compose` would return, however late the helper is.
    #[test]
    fn what_the_helper_makes_is_dropped_before_a_failure_returns() {
        let dropped = Arc::new(AtomicBool::new(false));
        let (give, take) = mpsc::sync_channel(1);
        let late = {
            let dropped = Arc::clone(&dropped);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                give.send(Made(dropped)).unwrap();
            })
        };
        let none: Option<fn(&[u8]) -> Made> = None;
        let result = super::settle(none, None, &take);
        drop(result);
        assert!(
            dropped.load(Ordering::SeqCst),
            "returned before the helper was done"
        );
        late.join().unwrap();
    }

    /// `beside` not taken by the helper runs here for a valid output only.
    #[test]
    fn beside_runs_here_only_for_a_valid_output() {
        let (_give, take) = mpsc::sync_channel::<usize>(1);
        assert_eq!(
            super::settle(Some(|b: &[u8]| b.len()), Some(b"abc"), &take),
            Some(3)
        );
        let never = |_: &[u8]| -> usize { panic!("run for an output that is not valid") };
        assert_eq!(super::settle(Some(never), None, &take), None);
    }
}
