//! Checks of every component against the plan: declared exports exist with their ids, every
//! import is bound (or is the host's), and every wire joins shapes that fit.

use std::collections::BTreeMap;
use std::rc::Rc;

use compose_model::Code;
use compose_model::host::{Provided, host_package, same_interface};
use compose_model::plan::{Binding, Diagnostic, Fix, FixValue, Plan, Syntax};
use compose_wit::check_subset;

use crate::host_wit::{check_host_import, host_interface};
use crate::source::{Input, Resolved};
use crate::surface::{Depth, Surface, surface};

/// Whether the plan pins any canonical WIT identity (`wit = "sha256:…"` on an export or a
/// wire), or binds an interface of the project's own WIT packages to the host: checking either
/// needs the components' WIT decoded.
pub(crate) fn pins_wit_ids(plan: &Plan) -> bool {
    plan.components.values().any(|c| {
        c.exports.values().any(|e| e.wit.is_some())
            || c.imports.iter().any(|(name, b)| match b {
                Binding::Component(w) => w.wit.is_some(),
                Binding::Host { .. } => host_interface(name).is_some(),
                _ => false,
            })
    })
}

/// Checks every component against the plan: declared exports exist with their ids, every
/// import is bound (or is WASI, which the host provides deny-by-default), and every wire joins
/// shapes that fit.
pub(crate) fn check(
    plan: &Plan,
    resolved: &BTreeMap<String, Resolved>,
    depth: Depth,
    diags: &mut Vec<Diagnostic>,
) {
    // Components with the same bytes (one formatter instantiated many times) have the same
    // surface: read once.
    let mut read: Vec<(&Input, Rc<Surface>)> = Vec::new();
    let mut surfaces = BTreeMap::new();
    for (name, r) in resolved {
        if let Some((_, s)) = read.iter().find(|(i, _)| i.same_bytes(&r.input)) {
            surfaces.insert(name.clone(), Rc::clone(s));
            continue;
        }
        match surface(name, r, depth) {
            Ok(s) => {
                let s = Rc::new(s);
                read.push((&r.input, Rc::clone(&s)));
                surfaces.insert(name.clone(), s);
            }
            Err(d) => diags.push(d),
        }
    }
    for (name, c) in &plan.components {
        let Some(s) = surfaces.get(name) else {
            continue;
        };
        for (export, decl) in &c.exports {
            let path = format!("components.{name}.exports.{export:?}");
            match Surface::find(&s.exports, export) {
                None => diags.push(missing_export(name, export, s, &path)),
                Some((_, item)) => {
                    if let (Some(want), Some(wit), Some(item)) = (decl.wit, &s.wit, item) {
                        let have = wit.id(*item);
                        if want != have {
                            diags.push(Diagnostic::new(
                                Code::EmitIdentityMismatch,
                                path,
                                format!("`{name}` exports `{export}` with identity `{have}`, but the plan expects `{want}`; update `wit` or the component"),
                            ));
                        }
                    }
                }
            }
        }
        for (import, item) in &s.imports {
            let binding = c.imports.iter().find(|(k, _)| same_interface(import, k));
            let path = format!(
                "components.{name}.imports.{:?}",
                binding.map_or(import.as_str(), |(k, _)| k.as_str())
            );
            match binding.map(|(_, b)| b) {
                // WASI is the host's; other packages the host provides need a binding.
                None if host_package(import)
                    .is_some_and(|p| !matches!(p.provided, Provided::Bound(_))) => {}
                None => diags.push(unbound(plan, &surfaces, name, import, path)),
                Some(Binding::Component(w)) => {
                    let Some(target) = surfaces.get(&w.component) else {
                        continue;
                    };
                    let wanted = w.export.as_deref().unwrap_or(import);
                    let Some((_, export_item)) = Surface::find(&target.exports, wanted) else {
                        diags.push(missing_export(&w.component, wanted, target, &path));
                        continue;
                    };
                    // Shapes and identities need the WIT (`Depth::Wit`).
                    let (Some(wit), Some(target_wit), Some(item), Some(export_item)) =
                        (&s.wit, &target.wit, item, export_item)
                    else {
                        continue;
                    };
                    let (imp, exp) = (wit.form(*item), target_wit.form(*export_item));
                    if let Err(why) = check_subset(&imp, &exp) {
                        diags.push(Diagnostic::new(
                            Code::EmitShapeMismatch,
                            path.clone(),
                            format!(
                                "`{name}` imports `{import}` (identity `{}`), but `{}` exports `{wanted}` with another shape (identity `{}`): {why}; rebuild both against the same WIT",
                                wit.id(*item),
                                w.component,
                                target_wit.id(*export_item)
                            ),
                        ));
                    }
                    if let Some(want) = w.wit {
                        let have = target_wit.id(*export_item);
                        if want != have {
                            diags.push(Diagnostic::new(
                                Code::EmitIdentityMismatch,
                                path,
                                format!("the plan expects `{wanted}` of `{}` to have identity `{want}`, but it has `{have}`", w.component),
                            ));
                        }
                    }
                }
                Some(Binding::Host { .. }) => {
                    if let (Some(wit), Some(item)) = (&s.wit, item)
                        && let Some(d) = check_host_import(name, import, wit, *item, &path)
                    {
                        diags.push(d);
                    }
                }
                Some(_) => {}
            }
        }
    }
    for (export, w) in &plan.exports {
        let Some(s) = surfaces.get(&w.component) else {
            continue;
        };
        let wanted = w.export.as_deref().unwrap_or(export);
        if Surface::find(&s.exports, wanted).is_none() {
            diags.push(missing_export(
                &w.component,
                wanted,
                s,
                &format!("exports.{export:?}"),
            ));
        }
    }
}

/// An import no binding covers: who exports it (if anyone), how to wire it, and the chain of
/// components from a composition export that needed it.
fn unbound(
    plan: &Plan,
    surfaces: &BTreeMap<String, Rc<Surface>>,
    name: &str,
    import: &str,
    path: String,
) -> Diagnostic {
    let plain = import.split('@').next().unwrap_or(import);
    let exporters: Vec<&str> = surfaces
        .iter()
        .filter(|(n, s)| n.as_str() != name && Surface::find(&s.exports, plain).is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    let place = ["components", name, "imports"];
    let (what, fix) = match exporters.as_slice() {
        [] => (
            format!(
                "`{name}` imports `{import}`, which no component exports; add a component that exports it and wire it, or deny it"
            ),
            None,
        ),
        [one] => {
            let fix = Fix::entry(&place, plain, FixValue::Word((*one).to_owned()));
            (
                format!(
                    "`{name}` imports `{import}`, which the plan leaves unbound; `{one}` exports it: wire it with {}",
                    fix.render(Syntax::Toml)
                ),
                Some(fix),
            )
        }
        many => {
            let fix = Fix::here(&place);
            (
                format!(
                    "`{name}` imports `{import}`, which the plan leaves unbound; {} export it: wire one of them {}",
                    many.iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    fix.render(Syntax::Toml)
                ),
                Some(fix),
            )
        }
    };
    let mut d = Diagnostic::new(Code::PlanUnboundImport, path, what);
    if let Some(fix) = fix {
        d = d.with_fix(fix);
    }
    if let Some(chain) = needed_by(plan, name) {
        d = d.with_help(format!("needed by {chain}"));
    }
    d
}

/// How a composition export reaches `component` through the wiring, e.g. "the export
/// `wasi:cli/run` → `app` → `formatter`".
fn needed_by(plan: &Plan, component: &str) -> Option<String> {
    fn walk<'p>(plan: &'p Plan, at: &'p str, goal: &str, seen: &mut Vec<&'p str>) -> bool {
        if seen.contains(&at) {
            return false;
        }
        seen.push(at);
        if at == goal {
            return true;
        }
        if let Some(c) = plan.components.get(at) {
            for b in c.imports.values() {
                if let Binding::Component(w) = b
                    && walk(plan, &w.component, goal, seen)
                {
                    return true;
                }
            }
        }
        seen.pop();
        false
    }
    for (export, w) in &plan.exports {
        let mut seen = Vec::new();
        if walk(plan, &w.component, component, &mut seen) {
            let names: Vec<String> = seen.iter().map(|n| format!("`{n}`")).collect();
            return Some(format!("the export `{export}` → {}", names.join(" → ")));
        }
    }
    None
}

fn missing_export(component: &str, export: &str, s: &Surface, path: &str) -> Diagnostic {
    let have: Vec<String> = s.exports.iter().map(|(n, _)| format!("`{n}`")).collect();
    Diagnostic::new(
        Code::EmitMissingExport,
        path,
        format!(
            "component `{component}` does not export `{export}`; it exports {}",
            if have.is_empty() {
                "nothing".to_owned()
            } else {
                have.join(", ")
            }
        ),
    )
}
