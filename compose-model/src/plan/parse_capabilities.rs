//! Reading capabilities: a component's requests (`components.X.capabilities`) and the plan's
//! grants (`[grants]`), by the kind the capability table gives each capability.

use super::model::*;
use super::names::{did_you_mean, is_env_name, is_kebab, join};
use super::node::{Kind, Node};
use super::read::{Cx, list};
use crate::Code;

const NEEDS: &[&str] = &["required", "optional"];
const MODES: &[&str] = &["ro", "rw"];
const DESTINATION: &str = "a destination; write `host` or `host:port`";

pub(super) fn capability_name(
    cx: &mut Cx,
    path: &str,
    node: Option<&Node>,
    name: &str,
) -> Option<Capability> {
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

pub(super) fn capabilities(cx: &mut Cx, path: &str, node: &Node) -> Capabilities {
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

pub(super) fn grants(cx: &mut Cx, path: &str, node: &Node) -> Grants {
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
