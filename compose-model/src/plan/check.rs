//! Checks across the plan: wiring, cycles, capabilities against grants, secrets, limits and
//! trust. Every problem is collected; none stops the others.

use std::collections::{BTreeMap, BTreeSet};

use super::fix::{Fix, FixValue, Syntax};
use super::model::*;
use super::names::{did_you_mean, index, join};
use super::read::Cx;
use crate::Code;

/// Allowed ranges of the policy's limits, inclusive.
pub const LIMITS: &[(&str, u64, u64)] = &[
    ("memory", 64 * 1024, 16 * 1024 * 1024 * 1024),
    ("fuel", 1, u64::MAX),
    ("timeout-ms", 1, 24 * 60 * 60 * 1000),
    ("instances", 1, 10_000),
    ("tables", 1, 10_000_000),
    ("concurrency", 1, 100_000),
];

pub(crate) fn plan(cx: &mut Cx, plan: &Plan) {
    wiring(cx, plan);
    cycles(cx, plan);
    capabilities(cx, plan);
    secrets(cx, plan);
    limits(cx, plan);
    trust(cx, plan);
    workspace(cx, plan);
}

/// A crate workspace is named only for `crate` sources to come from; with none it would be
/// read and ignored.
fn workspace(cx: &mut Cx, plan: &Plan) {
    let crates = plan
        .components
        .values()
        .any(|c| matches!(c.source, Source::Crate(_)));
    if plan.workspace.is_some() && !crates {
        cx.error(
            Code::PlanBadValue,
            "workspace",
            None,
            "the plan names a crate workspace, but no component has a `crate` source, so nothing would be built from it; remove `workspace`",
        );
    }
}

fn component_path(name: &str) -> String {
    join("components", name)
}

/// Every wire names a component that exists and an export it declares, with matching ids.
fn wiring(cx: &mut Cx, plan: &Plan) {
    for (name, c) in &plan.components {
        let ip = join(&component_path(name), "imports");
        for (iface, b) in &c.imports {
            let p = join(&ip, iface);
            match b {
                Binding::Component(w) => {
                    wire(cx, plan, &p, w, iface, Taker::Import(name, iface));
                }
                Binding::Host { capability, .. } => {
                    if !c.capabilities.requests(*capability) {
                        let d = cx.error(
                            Code::PlanHostNotRequested,
                            &p,
                            None,
                            format!(
                                "`{name}` takes `{iface}` from host capability `{cap}`, but does not request `{cap}`; add `{cap}` to `components.{name}.capabilities`",
                                cap = capability.as_str()
                            ),
                        );
                        let fix = Fix::entry(
                            &["components", name, "capabilities"],
                            capability.as_str(),
                            FixValue::Word("required".into()),
                        );
                        d.help = Some(format!("for example {}", fix.render(Syntax::Toml)));
                        d.fix = Some(Box::new(fix));
                    }
                }
                Binding::Deny => {}
            }
        }
    }
    for (iface, w) in &plan.exports {
        let p = join("exports", iface);
        wire(cx, plan, &p, w, iface, Taker::Export(iface));
    }
}

/// What takes a wire, as messages name it (written only when there is something to say).
enum Taker<'a> {
    /// A component's import: the component and the interface.
    Import(&'a str, &'a str),
    /// One of the composition's exports.
    Export(&'a str),
}

impl std::fmt::Display for Taker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Taker::Import(name, iface) => write!(f, "`{name}` imports `{iface}`"),
            Taker::Export(iface) => write!(f, "the composition exports `{iface}`"),
        }
    }
}

fn wire(cx: &mut Cx, plan: &Plan, path: &str, w: &Wire, iface: &str, what: Taker<'_>) {
    let export = w.export.as_deref().unwrap_or(iface);
    let Some(target) = plan.components.get(&w.component) else {
        let fix = Fix::here(&["components"]);
        let d = cx.error(
            Code::PlanUnknownComponent,
            path,
            None,
            format!(
                "{what} from component `{}`, which the plan does not have; add it {} or fix the name",
                w.component,
                fix.render(Syntax::Toml)
            ),
        );
        d.fix = Some(Box::new(fix));
        d.help = did_you_mean(&w.component, plan.components.keys().map(String::as_str))
            .map(|m| format!("did you mean `{m}`?"));
        return;
    };
    let Some(decl) = target.exports.get(export) else {
        let mut msg = format!(
            "{what} from `{}`, which declares no export `{export}`",
            w.component
        );
        let providers: Vec<&str> = plan
            .components
            .iter()
            .filter(|(_, c)| c.exports.contains_key(export))
            .map(|(n, _)| n.as_str())
            .collect();
        msg.push_str(&format!(
            "; add `{export}` to `components.{}.exports` or wire it to another component",
            w.component
        ));
        let d = cx.error(Code::PlanUnknownExport, path, None, msg);
        d.help = if !providers.is_empty() {
            Some(format!(
                "`{export}` is exported by {}",
                providers
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else if target.exports.is_empty() {
            Some(format!("`{}` declares no exports", w.component))
        } else {
            let names: Vec<&str> = target.exports.keys().map(String::as_str).collect();
            Some(match did_you_mean(export, names.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("`{}` exports {}", w.component, names.join(", ")),
            })
        };
        return;
    };
    if let (Some(want), Some(have)) = (&w.wit, &decl.wit)
        && want != have
    {
        cx.error(
            Code::PlanShapeMismatch,
            path,
            None,
            format!("{what} with identity `{want}`, but `{}` declares `{export}` with identity `{have}`; the shapes differ, so fix the interface or the expected id", w.component),
        );
    }
}

/// The instantiation graph (importer → exporter) must have no cycle.
fn cycles(cx: &mut Cx, plan: &Plan) {
    let edges: BTreeMap<&str, BTreeSet<&str>> = plan
        .components
        .iter()
        .map(|(n, c)| {
            let targets = c
                .imports
                .values()
                .filter_map(|b| match b {
                    Binding::Component(w) if plan.components.contains_key(&w.component) => {
                        Some(w.component.as_str())
                    }
                    _ => None,
                })
                .collect();
            (n.as_str(), targets)
        })
        .collect();
    // Iterative depth-first search; colours: 0 unvisited, 1 on the stack, 2 done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    for &start in edges.keys() {
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> =
            vec![(start, edges[start].iter().copied().collect())];
        colour.insert(start, 1);
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            let Some(next) = pending.pop() else {
                colour.insert(node, 2);
                stack.pop();
                continue;
            };
            match colour.get(next).copied().unwrap_or(0) {
                0 => {
                    colour.insert(next, 1);
                    stack.push((next, edges[next].iter().copied().collect()));
                }
                1 => {
                    let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|(n, _)| *n).collect();
                    // One report per cycle, whichever member it was found from.
                    let mut key = cycle.clone();
                    key.sort_unstable();
                    if reported.insert(key) {
                        let first = cycle[0];
                        cycle.push(first);
                        let chain = cycle
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" → ");
                        let last = cycle[cycle.len() - 2];
                        let iface = plan.components[last]
                            .imports
                            .iter()
                            .find(
                                |(_, b)| matches!(b, Binding::Component(w) if w.component == first),
                            )
                            .map(|(i, _)| i.as_str())
                            .unwrap_or("");
                        let p = join(&join(&component_path(last), "imports"), iface);
                        cx.error(
                            Code::PlanCycle,
                            &p,
                            None,
                            format!("components import each other in a cycle: {chain}; components are instantiated in order, so break the cycle by wiring one import elsewhere"),
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

/// Required requests are granted; every grant is requested by some component.
fn capabilities(cx: &mut Cx, plan: &Plan) {
    let g = &plan.grants;
    // Every flag but `stdio`, which stands for the three streams.
    let flags: Vec<Capability> = Capability::ALL
        .iter()
        .copied()
        .filter(|c| c.kind() == CapabilityKind::Flag && *c != Capability::Stdio)
        .collect();
    // A stream is requested by its own name or by `stdio`, and granted likewise; a component
    // that requires `stdio` is told about `stdio` once, not about each stream.
    let mut told = BTreeSet::new();
    for &cap in &flags {
        let granted = g.grants(cap);
        for (cname, c) in &plan.components {
            let caps = &c.capabilities;
            if caps.flag_need(cap) != Some(Need::Required) || granted {
                continue;
            }
            let asked = if caps.requests(cap) {
                cap
            } else {
                Capability::Stdio
            };
            if told.insert((cname, asked)) {
                let name = asked.as_str();
                not_granted(
                    cx,
                    &join(&join(&component_path(cname), "capabilities"), name),
                    cname,
                    name,
                    Fix::entry(&["grants"], name, FixValue::Bool(true)),
                );
            }
        }
    }
    // A grant is used when some component requests something it covers.
    for cap in std::iter::once(Capability::Stdio).chain(flags) {
        let covers: &[Capability] = if cap == Capability::Stdio {
            Capability::STREAMS
        } else {
            std::slice::from_ref(&cap)
        };
        let own = g.flag(cap);
        let requested = plan.components.values().any(|c| {
            covers
                .iter()
                .any(|s| c.capabilities.flag_need(*s).is_some())
        });
        if own && !requested {
            let name = cap.as_str();
            unused(cx, &join("grants", name), &format!("`{name}`"));
        }
    }
    lists(cx, plan, Capability::Env, &g.env, |c| {
        c.env.as_ref().map(|r| (&r.names, r.need))
    });
    lists(cx, plan, Capability::Network, &g.network, |c| {
        c.network.as_ref().map(|r| (&r.allow, r.need))
    });
    lists(cx, plan, Capability::Http, &g.http, |c| {
        c.http.as_ref().map(|r| (&r.allow, r.need))
    });
    // Directories: a request is met by a grant of the same guest path with enough access.
    let mut used = vec![false; g.dirs.len()];
    for (cname, c) in &plan.components {
        for (i, d) in c.capabilities.dirs.iter().enumerate() {
            let found = g
                .dirs
                .iter()
                .position(|gd| gd.guest == d.guest && (gd.mode == Mode::Rw || d.mode == Mode::Ro));
            match found {
                Some(j) => used[j] = true,
                None => {
                    if let Some(j) = g.dirs.iter().position(|gd| gd.guest == d.guest) {
                        used[j] = true;
                    }
                    if d.need == Need::Required {
                        let p = index(
                            &join(&join(&component_path(cname), "capabilities"), "dirs"),
                            i,
                        );
                        let access = if d.mode == Mode::Rw {
                            "read-write"
                        } else {
                            "read-only"
                        };
                        not_granted(
                            cx,
                            &p,
                            cname,
                            &format!("dirs `{}` ({access})", d.guest),
                            Fix::item(
                                &["grants"],
                                "dirs",
                                FixValue::Table(vec![
                                    ("host".into(), FixValue::Str("…".into())),
                                    ("guest".into(), FixValue::Str(d.guest.clone())),
                                    (
                                        "mode".into(),
                                        FixValue::Word(
                                            if d.mode == Mode::Rw { "rw" } else { "ro" }.into(),
                                        ),
                                    ),
                                ]),
                            ),
                        );
                    }
                }
            }
        }
    }
    for (j, u) in used.iter().enumerate() {
        if !u {
            unused(
                cx,
                &index("grants.dirs", j),
                &format!("directory `{}`", g.dirs[j].guest),
            );
        }
    }
}

/// Reads one list request (items and need) out of a component's capabilities.
type ListOf = for<'a> fn(&'a Capabilities) -> Option<(&'a Vec<String>, Need)>;

fn lists(cx: &mut Cx, plan: &Plan, cap: Capability, granted: &[String], get: ListOf) {
    let name = cap.as_str();
    let mut requested: BTreeSet<&str> = BTreeSet::new();
    for (cname, c) in &plan.components {
        let Some((items, need)) = get(&c.capabilities) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            requested.insert(item);
            if need == Need::Required && !granted.contains(item) {
                let p = index(
                    &join(&join(&component_path(cname), "capabilities"), name),
                    i,
                );
                not_granted(
                    cx,
                    &p,
                    cname,
                    &format!("{name} `{item}`"),
                    Fix::item(&["grants"], name, FixValue::Str(item.clone())),
                );
            }
        }
    }
    for (j, item) in granted.iter().enumerate() {
        if !requested.contains(item.as_str()) {
            unused(
                cx,
                &index(&join("grants", name), j),
                &format!("{name} `{item}`"),
            );
        }
    }
}

fn not_granted(cx: &mut Cx, path: &str, component: &str, what: &str, grant: Fix) {
    let d = cx.error(
        Code::PlanCapabilityNotGranted,
        path,
        None,
        format!(
            "`{component}` requires {what}, which the plan does not grant; add {} or make the request optional",
            grant.render(Syntax::Toml)
        ),
    );
    d.fix = Some(Box::new(grant));
}

fn unused(cx: &mut Cx, path: &str, what: &str) {
    cx.error(
        Code::PlanUnusedGrant,
        path,
        None,
        format!("the plan grants {what}, but no component requests it; remove the grant"),
    );
}

/// Requested tokens are defined; defined tokens are requested.
fn secrets(cx: &mut Cx, plan: &Plan) {
    let mut requested = BTreeSet::new();
    for (cname, c) in &plan.components {
        let Some(r) = &c.capabilities.secrets else {
            continue;
        };
        for (i, token) in r.tokens.iter().enumerate() {
            requested.insert(token.as_str());
            if !plan.secrets.contains_key(token) {
                let p = index(
                    &join(&join(&component_path(cname), "capabilities"), "secrets"),
                    i,
                );
                let fix = Fix::entry(&["secrets"], token, FixValue::Str("env:…".into()));
                let d = cx.error(
                    Code::PlanUndefinedSecret,
                    &p,
                    None,
                    format!(
                        "`{cname}` requests secret `{token}`, which the plan does not define; add {} (or `file:`, `vault:`, `pkcs11:`)",
                        fix.render(Syntax::Toml)
                    ),
                );
                d.fix = Some(Box::new(fix));
                d.help = did_you_mean(token, plan.secrets.keys().map(String::as_str))
                    .map(|m| format!("did you mean `{m}`?"));
            }
        }
    }
    for name in plan.secrets.keys() {
        if !requested.contains(name.as_str()) {
            unused(cx, &join("secrets", name), &format!("secret `{name}`"));
        }
    }
}

fn limits(cx: &mut Cx, plan: &Plan) {
    let p = &plan.policy;
    let values = [
        p.memory,
        p.fuel,
        p.timeout_ms,
        p.instances,
        p.tables,
        p.concurrency,
    ];
    for ((name, min, max), value) in LIMITS.iter().zip(values) {
        let Some(v) = value else { continue };
        if v < *min || v > *max {
            cx.error(
                Code::PlanLimitOutOfRange,
                &join("policy", name),
                None,
                format!("`policy.{name}` is {v}; it must be from {min} to {max}"),
            );
        }
    }
}

fn trust(cx: &mut Cx, plan: &Plan) {
    for (cname, c) in &plan.components {
        let Some(t) = &c.trust else { continue };
        if t.require_signature && t.signers.is_empty() {
            let fix = Fix::entry(
                &["components", cname, "trust"],
                "signers",
                FixValue::Array(vec![FixValue::Table(vec![(
                    "key".into(),
                    FixValue::Str("…".into()),
                )])]),
            );
            let d = cx.error(
                Code::PlanNoSigner,
                &join(&component_path(cname), "trust"),
                None,
                format!(
                    "`{cname}` requires a signature but accepts no signer; add {} (or `sigstore`, `pkcs11`)",
                    fix.render(Syntax::Toml)
                ),
            );
            d.fix = Some(Box::new(fix));
        }
        if let Some(n) = t.threshold {
            let m = t.signers.len();
            if n == 0 || n as usize > m {
                cx.error(
                    Code::PlanLimitOutOfRange,
                    &join(&join(&component_path(cname), "trust"), "threshold"),
                    None,
                    format!("`{cname}` needs {n} distinct signers, but lists {m}; the threshold must be from 1 to the number of signers"),
                );
            }
        }
        if t.require_signature && matches!(c.source, Source::Crate(_)) {
            cx.error(
                Code::PlanSignatureOnCrate,
                &join(&component_path(cname), "trust"),
                None,
                format!("`{cname}` is a `crate` source, which this build compiles itself, so nobody signed its bytes; require the signature on a `path` or `blob` of the signed component, or remove `trust`"),
            );
        }
    }
}
