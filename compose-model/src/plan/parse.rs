//! Reading a node tree into the plan model: the schema's fields, shorthands and name rules.
//! Cross-references (wiring, grants, secrets, limits) are checked afterwards, in `check.rs`.

use std::collections::BTreeMap;

use super::model::*;
use super::names::{is_interface, is_kebab, join};
use super::node::{Kind, Node};
use super::parse_capabilities::{capabilities, capability_name, grants};
use super::read::{Cx, list};
use crate::Code;

const ROOT: &[&str] = &[
    "schema",
    "name",
    "workspace",
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
const OBSERVABILITY: &[&str] = &["metrics", "audit", "audit-required", "attest"];
const TRUST: &[&str] = &["require-signature", "signers", "threshold"];
const SIGNER: &[&str] = &["key", "sigstore", "issuer", "pkcs11"];

/// A non-empty relative path in `/` form: not absolute, no `\\`, no empty segment.
fn is_relative_folder(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains('\\')
        && s.trim_end_matches('/')
            .split('/')
            .all(|seg| !seg.is_empty())
}

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
    if let Some(n) = f.get("workspace") {
        let p = f.path("workspace");
        if let Some(w) = cx.string(&p, n) {
            if is_relative_folder(&w) {
                plan.workspace = Some(w);
            } else {
                cx.error(
                    Code::PlanBadValue,
                    &p,
                    Some(n),
                    format!("`workspace = {w:?}` must be a folder relative to the plan's (such as `\"guests\"` or `\"../guests\"`), so that no machine's path enters the plan's digest"),
                );
            }
        }
    }
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
        let Some(parsed) = SecretRef::parse(&reference) else {
            cx.error(
                Code::PlanBadValue,
                &p,
                Some(n),
                format!("secret `{name}` must be a reference (`env:NAME`, `file:PATH`, `vault:PATH#KEY` or `pkcs11:…`), never a value"),
            );
            continue;
        };
        out.insert(name.clone(), parsed);
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
    if let Some(n) = f.get("audit-required") {
        let p = f.path("audit-required");
        o.audit_required = cx.boolean(&p, n).unwrap_or(false);
        if o.audit_required && f.get("audit").is_none() {
            cx.error(
                Code::PlanBadValue,
                &p,
                Some(n),
                "`audit-required = true` requires an audit log, and `observability.audit` names none; add `audit = \"file:PATH\"` or remove it".to_owned(),
            );
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
        threshold: None,
    };
    if let Some(n) = f.get("threshold")
        && let Some(v) = cx.unsigned(&f.path("threshold"), n)
    {
        t.threshold = Some(u32::try_from(v).unwrap_or(u32::MAX));
    }
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
