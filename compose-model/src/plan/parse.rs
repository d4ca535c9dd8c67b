//! Reading a node tree into the plan model: the schema's fields, shorthands and name rules.
//! Cross-references (wiring, grants, secrets, limits) are checked afterwards, in `check.rs`.

use std::collections::BTreeMap;

use super::model::*;
use super::names::{did_you_mean, is_env_name, is_interface, is_kebab, join};
use super::node::{Kind, Node};
use super::read::{Cx, list};
use crate::Code;

const ROOT: &[&str] = &[
    "schema",
    "name",
    "components",
    "exports",
    "grants",
    "policy",
    "secrets",
    "observability",
];
const COMPONENT: &[&str] = &[
    "path",
    "crate",
    "oci",
    "blob",
    "digest",
    "exports",
    "imports",
    "capabilities",
    "trust",
];
const SOURCES: &[&str] = &["path", "crate", "oci", "blob"];
const BINDING: &[&str] = &["component", "export", "wit", "host", "deny"];
const WIRE: &[&str] = &["component", "export", "wit"];
const NEEDS: &[&str] = &["required", "optional"];
const MODES: &[&str] = &["ro", "rw"];
const POLICY: &[&str] = &[
    "memory",
    "fuel",
    "timeout-ms",
    "instances",
    "tables",
    "concurrency",
    "determinism",
    "tenant",
];
const OBSERVABILITY: &[&str] = &["metrics", "audit", "attest"];
const TRUST: &[&str] = &["require-signature", "signers"];
const SIGNER: &[&str] = &["key", "sigstore", "issuer", "pkcs11"];

const DESTINATION: &str = "a destination; write `host` or `host:port`";
const INTERFACE_RULE: &str =
    "an interface name; write `namespace:package/interface`, optionally with `@version`";

/// Reads a plan document. Returns the plan read so far even when there are errors, so the
/// checks can still run and report everything at once.
pub(crate) fn plan(cx: &mut Cx, root: &Node) -> Plan {
    let mut plan = Plan::new();
    let Some(f) = cx.table("", root, ROOT) else {
        return plan;
    };
    if let Some(n) = f.get("schema") {
        let p = f.path("schema");
        if let Some(v) = cx.unsigned(&p, n)
            && v != SCHEMA_VERSION
        {
            cx.error(
                Code::PlanUnsupportedSchema,
                &p,
                Some(n),
                format!(
                    "plan schema {v} is not supported; this build reads schema {SCHEMA_VERSION}"
                ),
            );
        }
    }
    plan.name = f.get("name").and_then(|n| cx.string(&f.path("name"), n));
    if let Some(n) = f.get("components") {
        let p = f.path("components");
        for (name, _, node) in cx.map(&p, n).unwrap_or_default() {
            let cp = join(&p, name);
            if !is_kebab(name) {
                cx.error(
                    Code::PlanBadValue,
                    &cp,
                    Some(node),
                    format!("component name `{name}` is not kebab-case; use lowercase words joined by `-`"),
                );
            }
            if let Some(c) = component(cx, &cp, node) {
                plan.components.insert(name.clone(), c);
            }
        }
    }
    if let Some(n) = f.get("exports") {
        let p = f.path("exports");
        for (iface, _, node) in cx.map(&p, n).unwrap_or_default() {
            let ep = join(&p, iface);
            interface_name(cx, &ep, node, iface);
            if let Some(w) = wire(cx, &ep, node) {
                plan.exports.insert(iface.clone(), w);
            }
        }
    }
    if let Some(n) = f.get("grants") {
        plan.grants = grants(cx, &f.path("grants"), n);
    }
    if let Some(n) = f.get("policy") {
        plan.policy = policy(cx, &f.path("policy"), n);
    }
    if let Some(n) = f.get("secrets") {
        plan.secrets = secrets(cx, &f.path("secrets"), n);
    }
    if let Some(n) = f.get("observability") {
        plan.observability = observability(cx, &f.path("observability"), n);
    }
    plan
}

fn interface_name(cx: &mut Cx, path: &str, node: &Node, name: &str) {
    if !is_interface(name) {
        cx.error(
            Code::PlanBadValue,
            path,
            Some(node),
            format!("`{name}` is not {INTERFACE_RULE}"),
        );
    }
}

fn component(cx: &mut Cx, path: &str, node: &Node) -> Option<Component> {
    let f = cx.table(path, node, COMPONENT)?;
    let present: Vec<&str> = SOURCES
        .iter()
        .copied()
        .filter(|s| f.get(s).is_some())
        .collect();
    let source = match present.as_slice() {
        [] => {
            cx.error(
                Code::PlanMissingField,
                path,
                Some(node),
                format!(
                    "component `{}` has no source; add one of {}",
                    last(path),
                    list(SOURCES)
                ),
            );
            None
        }
        [kind] => source(cx, &f.path(kind), f.get(kind)?, kind),
        [_, second, ..] => {
            cx.error(
                Code::PlanConflictingFields,
                &f.path(second),
                f.get(second),
                format!(
                    "component `{}` has several sources ({}); keep exactly one",
                    last(path),
                    present
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            );
            None
        }
    };
    let mut c = Component::new(source.unwrap_or(Source::Path(String::new())));
    c.digest = f
        .get("digest")
        .and_then(|n| cx.digest(&f.path("digest"), n));
    if let Some(n) = f.get("exports") {
        c.exports = export_decls(cx, &f.path("exports"), n);
    }
    if let Some(n) = f.get("imports") {
        let p = f.path("imports");
        for (iface, _, node) in cx.map(&p, n).unwrap_or_default() {
            let ip = join(&p, iface);
            interface_name(cx, &ip, node, iface);
            if let Some(b) = binding(cx, &ip, node, last(path), iface) {
                c.imports.insert(iface.clone(), b);
            }
        }
    }
    if let Some(n) = f.get("capabilities") {
        c.capabilities = capabilities(cx, &f.path("capabilities"), n);
    }
    if let Some(n) = f.get("trust") {
        c.trust = trust(cx, &f.path("trust"), n);
    }
    Some(c)
}

fn source(cx: &mut Cx, path: &str, node: &Node, kind: &str) -> Option<Source> {
    if kind == "blob" {
        return cx.digest(path, node).map(Source::Blob);
    }
    let s = cx.string(path, node)?;
    let ok = match kind {
        "path" => !s.is_empty(),
        "crate" => {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        _ => s.strip_prefix("oci://").is_some_and(|r| r.contains('/')),
    };
    if !ok {
        let rule = match kind {
            "path" => "a path to a `.wasm` component",
            "crate" => "a crate name",
            _ => "an OCI reference; write `oci://registry/repository:tag`",
        };
        cx.error(
            Code::PlanBadValue,
            path,
            Some(node),
            format!("`{s}` is not {rule}"),
        );
        return None;
    }
    Some(match kind {
        "path" => Source::Path(s),
        "crate" => Source::Crate(s),
        _ => Source::Oci(s),
    })
}

/// `exports = ["a:b/c"]` or `exports = { "a:b/c" = { wit = "sha256:…" } }`.
fn export_decls(cx: &mut Cx, path: &str, node: &Node) -> BTreeMap<String, ExportDecl> {
    let mut out = BTreeMap::new();
    if let Kind::Array(_) = node.kind {
        for s in cx.strings(path, node, is_interface, INTERFACE_RULE) {
            out.insert(s, ExportDecl::default());
        }
        return out;
    }
    if !matches!(node.kind, Kind::Table(_)) {
        cx.wrong_type(
            path,
            node,
            "a list of interface names, or a table of them with their `wit` ids",
        );
        return out;
    }
    for (iface, _, n) in cx.map(path, node).unwrap_or_default() {
        let p = join(path, iface);
        interface_name(cx, &p, n, iface);
        let Some(f) = cx.table(&p, n, &["wit"]) else {
            continue;
        };
        let wit = f.get("wit").and_then(|w| cx.digest(&f.path("wit"), w));
        out.insert(iface.clone(), ExportDecl { wit });
    }
    out
}

/// A component wire: `"greeter"` or `{ component = "greeter", export = "…", wit = "…" }`.
fn wire(cx: &mut Cx, path: &str, node: &Node) -> Option<Wire> {
    if let Kind::Str(s) = &node.kind {
        return Some(Wire::to(s.clone()));
    }
    let f = cx.table(path, node, WIRE)?;
    let Some(c) = f.get("component") else {
        cx.error(
            Code::PlanMissingField,
            path,
            Some(node),
            format!("`{path}` names no component; add `component = \"…\"`"),
        );
        return None;
    };
    Some(Wire {
        component: cx.string(&f.path("component"), c)?,
        export: wire_export(cx, &f),
        wit: f.get("wit").and_then(|n| cx.digest(&f.path("wit"), n)),
    })
}

fn wire_export(cx: &mut Cx, f: &super::read::Fields<'_>) -> Option<String> {
    let n = f.get("export")?;
    let p = f.path("export");
    let s = cx.string(&p, n)?;
    interface_name(cx, &p, n, &s);
    Some(s)
}

/// An import binding: a component wire, `{ host = "cap" }` or `{ deny = true }`.
fn binding(cx: &mut Cx, path: &str, node: &Node, component: &str, iface: &str) -> Option<Binding> {
    if let Kind::Str(_) = node.kind {
        return wire(cx, path, node).map(Binding::Component);
    }
    let f = cx.table(path, node, BINDING)?;
    let targets: Vec<&str> = ["component", "host", "deny"]
        .into_iter()
        .filter(|t| f.get(t).is_some())
        .collect();
    match targets.as_slice() {
        [] => {
            cx.error(
                Code::PlanUnboundImport,
                path,
                Some(node),
                format!(
                    "`{component}` imports `{iface}`, which is not bound; add `component = \"…\"` to wire it to a component's export, `host = \"…\"` to take it from a host capability, or `deny = true`"
                ),
            );
            None
        }
        ["component"] => wire(cx, path, node).map(Binding::Component),
        ["host"] => {
            let hp = f.path("host");
            let name = cx.string(&hp, f.get("host")?)?;
            let capability = capability_name(cx, &hp, f.get("host"), &name)?;
            let wit = f.get("wit").and_then(|n| cx.digest(&f.path("wit"), n));
            if f.get("export").is_some() {
                cx.error(
                    Code::PlanConflictingFields,
                    &f.path("export"),
                    f.get("export"),
                    "`export` goes with `component`, not with `host`; remove it",
                );
            }
            Some(Binding::Host { capability, wit })
        }
        [_] => {
            let dp = f.path("deny");
            let yes = cx.boolean(&dp, f.get("deny")?)?;
            for extra in ["export", "wit"] {
                if f.get(extra).is_some() {
                    cx.error(
                        Code::PlanConflictingFields,
                        &f.path(extra),
                        f.get(extra),
                        format!("`{extra}` has no meaning on a denied import; remove it"),
                    );
                }
            }
            if !yes {
                cx.error(Code::PlanBadValue, &dp, f.get("deny"), "`deny = false` binds nothing; write `deny = true` or bind the import another way");
                return None;
            }
            Some(Binding::Deny)
        }
        [_, second, ..] => {
            cx.error(
                Code::PlanConflictingFields,
                &f.path(second),
                f.get(second),
                format!(
                    "`{component}` binds `{iface}` in several ways ({}); keep exactly one",
                    list(&targets)
                ),
            );
            None
        }
    }
}

fn capability_name(cx: &mut Cx, path: &str, node: Option<&Node>, name: &str) -> Option<Capability> {
    if let Some(c) = Capability::parse(name) {
        return Some(c);
    }
    let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
    let d = cx.error(
        Code::PlanUnknownCapability,
        path,
        node,
        format!("`{name}` is not a capability the host knows"),
    );
    d.help = Some(match did_you_mean(name, names.iter().copied()) {
        Some(m) => format!("did you mean `{m}`?"),
        None => format!("capabilities: {}", list(&names)),
    });
    None
}

/// A capability used as a table key: an unknown one is reported at the key.
fn capability_key(
    cx: &mut Cx,
    path: &str,
    node: &Node,
    name: &str,
    key_span: &Option<std::ops::Range<usize>>,
) -> Option<Capability> {
    let cap = capability_name(cx, path, Some(node), name);
    if cap.is_none()
        && let Some(d) = cx.diags.last_mut()
    {
        d.span = key_span.clone().or(d.span.take());
    }
    cap
}

fn need(cx: &mut Cx, path: &str, node: &Node) -> Option<Need> {
    match cx.choice(path, node, NEEDS)? {
        0 => Some(Need::Required),
        _ => Some(Need::Optional),
    }
}

/// `cap = "required"` or `cap = { need = "optional" }`.
fn simple_request(cx: &mut Cx, path: &str, node: &Node) -> Option<Need> {
    if let Kind::Str(_) = node.kind {
        return need(cx, path, node);
    }
    let f = cx.table(path, node, &["need"])?;
    match f.get("need") {
        Some(n) => need(cx, &f.path("need"), n),
        None => Some(Need::Required),
    }
}

/// `cap = ["a", "b"]` (required) or `cap = { <list> = [...], need = "optional" }`.
fn list_request(
    cx: &mut Cx,
    path: &str,
    node: &Node,
    field: &str,
    valid: fn(&str) -> bool,
    what: &str,
) -> Option<(Vec<String>, Need)> {
    if let Kind::Array(_) = node.kind {
        return Some((cx.strings(path, node, valid, what), Need::Required));
    }
    let f = cx.table(path, node, &[field, "need"])?;
    let items = match f.get(field) {
        Some(n) => cx.strings(&f.path(field), n, valid, what),
        None => {
            cx.error(
                Code::PlanMissingField,
                path,
                Some(node),
                format!("`{path}` lists nothing; add `{field} = [...]`"),
            );
            return None;
        }
    };
    let need = match f.get("need") {
        Some(n) => need(cx, &f.path("need"), n)?,
        None => Need::Required,
    };
    Some((items, need))
}

fn capabilities(cx: &mut Cx, path: &str, node: &Node) -> Capabilities {
    let mut caps = Capabilities::default();
    for (name, key_span, n) in cx.map(path, node).unwrap_or_default() {
        let p = join(path, name);
        let Some(cap) = capability_key(cx, &p, n, name, key_span) else {
            continue;
        };
        match cap.kind() {
            CapabilityKind::Flag => caps.set_flag(cap, simple_request(cx, &p, n)),
            CapabilityKind::Names => {
                caps.env = list_request(
                    cx,
                    &p,
                    n,
                    "names",
                    is_env_name,
                    "an environment variable name",
                )
                .map(|(names, need)| EnvRequest { names, need });
            }
            CapabilityKind::Destinations => {
                let r = list_request(cx, &p, n, "allow", is_destination, DESTINATION)
                    .map(|(allow, need)| AllowRequest { allow, need });
                if cap == Capability::Network {
                    caps.network = r;
                } else {
                    caps.http = r;
                }
            }
            CapabilityKind::Tokens => {
                caps.secrets =
                    list_request(cx, &p, n, "tokens", is_kebab, "a kebab-case token name")
                        .map(|(tokens, need)| SecretsRequest { tokens, need });
            }
            CapabilityKind::Dirs => caps.dirs = dir_requests(cx, &p, n),
        }
    }
    let streams = [caps.stdin, caps.stdout, caps.stderr].map(|s| s.is_some());
    stdio_overlap(cx, path, caps.stdio.is_some(), streams, "requests");
    caps
}

/// `stdio` is the three streams together: naming one of them beside it would say the same
/// thing twice (or two things at once, with different needs), so it is refused.
fn stdio_overlap(cx: &mut Cx, path: &str, stdio: bool, streams: [bool; 3], verb: &str) {
    if !stdio {
        return;
    }
    for (cap, _) in Capability::STREAMS.iter().zip(streams).filter(|(_, s)| *s) {
        cx.error(
            Code::PlanConflictingFields,
            &join(path, cap.as_str()),
            None,
            format!(
                "`stdio` already {verb} `stdin`, `stdout` and `stderr`; remove `{}`, or replace `stdio` by the streams wanted",
                cap.as_str()
            ),
        );
    }
}

/// `dirs = ["/data", { guest = "/out", mode = "rw", need = "optional" }]`.
fn dir_requests(cx: &mut Cx, path: &str, node: &Node) -> Vec<DirRequest> {
    let mut out: Vec<DirRequest> = Vec::new();
    for (p, n) in cx.array(path, node).unwrap_or_default() {
        let req = if let Kind::Str(_) = n.kind {
            cx.string(&p, n).map(|guest| DirRequest {
                guest,
                mode: Mode::Ro,
                need: Need::Required,
            })
        } else {
            cx.table(&p, n, &["guest", "mode", "need"]).and_then(|f| {
                let Some(g) = f.get("guest") else {
                    cx.error(
                        Code::PlanMissingField,
                        &p,
                        Some(n),
                        "a directory request needs `guest`, the path the guest sees",
                    );
                    return None;
                };
                Some(DirRequest {
                    guest: cx.string(&f.path("guest"), g)?,
                    mode: f
                        .get("mode")
                        .and_then(|m| mode(cx, &f.path("mode"), m))
                        .unwrap_or_default(),
                    need: f
                        .get("need")
                        .and_then(|m| need(cx, &f.path("need"), m))
                        .unwrap_or_default(),
                })
            })
        };
        let Some(req) = req else { continue };
        if !req.guest.starts_with('/') {
            cx.error(
                Code::PlanBadValue,
                &p,
                Some(n),
                format!(
                    "guest path `{}` must be absolute (start with `/`)",
                    req.guest
                ),
            );
        } else if out.iter().any(|d| d.guest == req.guest) {
            cx.error(
                Code::PlanDuplicateName,
                &p,
                Some(n),
                format!("guest path `{}` is requested twice; remove one", req.guest),
            );
        } else {
            out.push(req);
        }
    }
    out
}

fn mode(cx: &mut Cx, path: &str, node: &Node) -> Option<Mode> {
    match cx.choice(path, node, MODES)? {
        0 => Some(Mode::Ro),
        _ => Some(Mode::Rw),
    }
}

/// `host`, `host:port`, `*.host` or `[v6]:port` with no scheme or path.
fn is_destination(s: &str) -> bool {
    !s.is_empty()
        && !s.contains("://")
        && !s.contains('/')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:*[]_".contains(&b))
}

fn grants(cx: &mut Cx, path: &str, node: &Node) -> Grants {
    let mut g = Grants::default();
    for (name, key_span, n) in cx.map(path, node).unwrap_or_default() {
        let p = join(path, name);
        let Some(cap) = capability_key(cx, &p, n, name, key_span) else {
            continue;
        };
        match cap.kind() {
            CapabilityKind::Flag => g.set_flag(cap, cx.boolean(&p, n).unwrap_or(false)),
            CapabilityKind::Names => {
                g.env = cx.strings(&p, n, is_env_name, "an environment variable name")
            }
            CapabilityKind::Destinations => {
                let list = cx.strings(&p, n, is_destination, DESTINATION);
                if cap == Capability::Network {
                    g.network = list;
                } else {
                    g.http = list;
                }
            }
            CapabilityKind::Dirs => g.dirs = dir_grants(cx, &p, n),
            CapabilityKind::Tokens => {
                cx.error(Code::PlanUnknownField, &p, Some(n), "secrets are granted by defining them in `[secrets]`, not in `[grants]`; move them there");
            }
        }
    }
    stdio_overlap(cx, path, g.stdio, [g.stdin, g.stdout, g.stderr], "grants");
    g
}

fn dir_grants(cx: &mut Cx, path: &str, node: &Node) -> Vec<DirGrant> {
    let mut out: Vec<DirGrant> = Vec::new();
    for (p, n) in cx.array(path, node).unwrap_or_default() {
        let Some(f) = cx.table(&p, n, &["host", "guest", "mode"]) else {
            continue;
        };
        let (Some(h), Some(g)) = (f.get("host"), f.get("guest")) else {
            cx.error(Code::PlanMissingField, &p, Some(n), "a directory grant needs `host` (the host directory) and `guest` (the path the guest sees)");
            continue;
        };
        let (Some(host), Some(guest)) = (
            cx.string(&f.path("host"), h),
            cx.string(&f.path("guest"), g),
        ) else {
            continue;
        };
        let mode = f
            .get("mode")
            .and_then(|m| mode(cx, &f.path("mode"), m))
            .unwrap_or_default();
        if !guest.starts_with('/') {
            cx.error(
                Code::PlanBadValue,
                &f.path("guest"),
                Some(g),
                format!("guest path `{guest}` must be absolute (start with `/`)"),
            );
        } else if out.iter().any(|d| d.guest == guest) {
            cx.error(
                Code::PlanDuplicateName,
                &p,
                Some(n),
                format!("guest path `{guest}` is granted twice; remove one"),
            );
        } else {
            out.push(DirGrant { host, guest, mode });
        }
    }
    out
}

fn policy(cx: &mut Cx, path: &str, node: &Node) -> Policy {
    let mut pol = Policy::default();
    let Some(f) = cx.table(path, node, POLICY) else {
        return pol;
    };
    let int = |cx: &mut Cx, name: &str| f.get(name).and_then(|n| cx.unsigned(&f.path(name), n));
    pol.memory = int(cx, "memory");
    pol.fuel = int(cx, "fuel");
    pol.timeout_ms = int(cx, "timeout-ms");
    pol.instances = int(cx, "instances");
    pol.tables = int(cx, "tables");
    pol.concurrency = int(cx, "concurrency");
    if let Some(n) = f.get("determinism")
        && let Some(i) = cx.choice(&f.path("determinism"), n, &["allowed", "required"])
    {
        pol.determinism = if i == 0 {
            Determinism::Allowed
        } else {
            Determinism::Required
        };
    }
    pol.tenant = f
        .get("tenant")
        .and_then(|n| cx.string(&f.path("tenant"), n));
    pol
}

fn secrets(cx: &mut Cx, path: &str, node: &Node) -> BTreeMap<String, SecretRef> {
    let mut out = BTreeMap::new();
    for (name, _, n) in cx.map(path, node).unwrap_or_default() {
        let p = join(path, name);
        if !is_kebab(name) {
            cx.error(
                Code::PlanBadValue,
                &p,
                Some(n),
                format!("secret token name `{name}` is not kebab-case"),
            );
        }
        let Some(reference) = cx.string(&p, n) else {
            continue;
        };
        let ok = reference.split_once(':').is_some_and(|(scheme, rest)| {
            SecretRef::SCHEMES.contains(&scheme)
                && !rest.is_empty()
                && (scheme != "env" || is_env_name(rest))
        });
        if !ok {
            cx.error(
                Code::PlanBadValue,
                &p,
                Some(n),
                format!("secret `{name}` must be a reference (`env:NAME`, `file:PATH`, `vault:PATH#KEY` or `pkcs11:…`), never a value"),
            );
            continue;
        }
        out.insert(name.clone(), SecretRef(reference));
    }
    out
}

fn observability(cx: &mut Cx, path: &str, node: &Node) -> Observability {
    let mut o = Observability::default();
    let Some(f) = cx.table(path, node, OBSERVABILITY) else {
        return o;
    };
    o.metrics = f
        .get("metrics")
        .and_then(|n| cx.boolean(&f.path("metrics"), n))
        .unwrap_or(false);
    o.attest = f
        .get("attest")
        .and_then(|n| cx.boolean(&f.path("attest"), n))
        .unwrap_or(false);
    if let Some(n) = f.get("audit") {
        let p = f.path("audit");
        if let Some(s) = cx.string(&p, n) {
            if s == "stderr" || s.strip_prefix("file:").is_some_and(|r| !r.is_empty()) {
                o.audit = Some(s);
            } else {
                cx.error(
                    Code::PlanBadValue,
                    &p,
                    Some(n),
                    format!("audit sink `{s}` is not `stderr` or `file:PATH`"),
                );
            }
        }
    }
    o
}

fn trust(cx: &mut Cx, path: &str, node: &Node) -> Option<Trust> {
    let f = cx.table(path, node, TRUST)?;
    let mut t = Trust {
        require_signature: f
            .get("require-signature")
            .and_then(|n| cx.boolean(&f.path("require-signature"), n))
            .unwrap_or(false),
        signers: Vec::new(),
    };
    if let Some(n) = f.get("signers") {
        for (p, sn) in cx.array(&f.path("signers"), n).unwrap_or_default() {
            let Some(s) = signer(cx, &p, sn) else {
                continue;
            };
            if t.signers.contains(&s) {
                cx.error(
                    Code::PlanDuplicateName,
                    &p,
                    Some(sn),
                    "this signer is listed twice; remove one",
                );
            } else {
                t.signers.push(s);
            }
        }
    }
    Some(t)
}

fn signer(cx: &mut Cx, path: &str, node: &Node) -> Option<Signer> {
    let f = cx.table(path, node, SIGNER)?;
    let kinds: Vec<&str> = ["key", "sigstore", "pkcs11"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    let get = |cx: &mut Cx, k: &str| f.get(k).and_then(|n| cx.string(&f.path(k), n));
    match kinds.as_slice() {
        ["key"] => get(cx, "key").map(Signer::Key),
        ["pkcs11"] => get(cx, "pkcs11").map(Signer::Pkcs11),
        ["sigstore"] => {
            let identity = get(cx, "sigstore")?;
            let Some(issuer) = get(cx, "issuer") else {
                cx.error(
                    Code::PlanMissingField,
                    path,
                    Some(node),
                    "a sigstore signer needs `issuer`, the OIDC issuer URL",
                );
                return None;
            };
            Some(Signer::Sigstore { identity, issuer })
        }
        [] => {
            cx.error(
                Code::PlanMissingField,
                path,
                Some(node),
                "a signer needs one of `key`, `sigstore` or `pkcs11`",
            );
            None
        }
        _ => {
            cx.error(
                Code::PlanConflictingFields,
                path,
                Some(node),
                format!("a signer is exactly one of {}", list(&kinds)),
            );
            None
        }
    }
}

/// The last segment of a plan path, unquoted.
fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path).trim_matches('"')
}
