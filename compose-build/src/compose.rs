//! Composing resolved components into one with wasm-compose's composition graph.

use std::collections::BTreeMap;

use compose_model::Code;
use compose_model::plan::{Binding, Diagnostic, Plan};
use wasm_compose::graph::{CompositionGraph, EncodeOptions};

use crate::emit::Surface;
use crate::source::Resolved;

/// Instantiates every component, connects every wire, and exports the root component's
/// exports. Components are added in name order, so the output depends only on the inputs.
pub(crate) fn compose(
    plan: &Plan,
    resolved: &BTreeMap<String, Resolved>,
    surfaces: &BTreeMap<String, Surface>,
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
            return Err(Diagnostic::new(
                Code::EmitUnsupportedComposition,
                "exports",
                "the plan exports nothing, so the composition would do nothing; add `[exports]`, e.g. `\"wasi:cli/run@0.2.0\" = \"app\"`",
            ));
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
    for (name, r) in resolved {
        let component = wasm_compose::graph::Component::from_bytes(
            &mut validator,
            name.clone(),
            r.bytes.clone(),
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
        let iid = graph
            .instantiate(cid)
            .map_err(|e| invalid(&format!("components.{name}"), format!("{e:#}")))?;
        ids.insert(name.clone(), (cid, iid));
    }
    for (name, c) in &plan.components {
        let Some(s) = surfaces.get(name) else {
            continue;
        };
        for (import, _) in &s.imports {
            let Some((key, Binding::Component(w))) = c
                .imports
                .iter()
                .find(|(k, _)| *k == import || import.split('@').next() == Some(k.as_str()))
            else {
                continue;
            };
            let path = format!("components.{name}.imports.{key:?}");
            let wanted = w.export.as_deref().unwrap_or(import);
            let target = &surfaces[&w.component];
            let export_name = target
                .exports
                .iter()
                .find(|(n, _)| n == wanted || n.split('@').next() == Some(wanted))
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| wanted.to_owned());
            let (src_c, src_i) = ids[&w.component];
            let (dst_c, dst_i) = ids[name];
            let export = graph
                .get_component(src_c)
                .and_then(|c| c.export_by_name(&export_name))
                .map(|(i, _, _)| i);
            let import_index = graph
                .get_component(dst_c)
                .and_then(|c| c.import_by_name(import))
                .map(|(i, _)| i);
            let (Some(export), Some(import_index)) = (export, import_index) else {
                return Err(invalid(
                    &path,
                    format!(
                        "cannot find `{export_name}` in `{}` or `{import}` in `{name}` in the binaries",
                        w.component
                    ),
                ));
            };
            graph
                .connect(src_i, Some(export), dst_i, import_index)
                .map_err(|e| Diagnostic::new(Code::EmitShapeMismatch, path.clone(), format!("`{name}`'s import `{import}` cannot take `{}`'s export `{export_name}`: {e:#}", w.component)))?;
        }
    }
    let (_, root_instance) = ids[root];
    let bytes = graph
        .encode(EncodeOptions {
            define_components: true,
            export: Some(root_instance),
            validate: false, // validated once, below
        })
        .map_err(|e| invalid("", format!("the composed component is not valid: {e:#}")))?;
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .map_err(|e| invalid("", format!("the composed component is not valid: {e}")))?;
    Ok(bytes)
}
