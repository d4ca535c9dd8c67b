//! What a plan may ask for that this release's hosts do not do yet: signatures on OCI sources,
//! metrics, audit records on stderr (a log file is done), attesting whole runs
//! (`observability.attest`) and tenancy. A plan that asks for one of them is refused
//! (`E0214`) at emit, by `compose!` and at exec, never run as if it had not asked; `plan
//! validate` stays a schema check, so such a plan is still a valid plan.
//!
//! When a host implements one of these, its refusal leaves this file.

use super::diagnostic::Diagnostic;
use super::model::*;
use super::names::join;
use crate::Code;

/// Capabilities whose host interfaces no host of this release implements.
pub const UNIMPLEMENTED_CAPABILITIES: &[Capability] = &[Capability::Metrics];

/// Grants that make a run depend on the world outside the host, so that a plan requiring
/// determinism cannot have them.
const OUTSIDE_WORLD: &[Capability] = &[
    Capability::Stdin,
    Capability::Env,
    Capability::Dirs,
    Capability::Network,
    Capability::Http,
];

/// Every field of `plan` that asks for something this host does not do, each with its plan path
/// and what to do instead (code `E0214`). Empty when the host can keep every promise the plan
/// makes.
pub fn unsupported(plan: &Plan) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let refuse = |out: &mut Vec<Diagnostic>, path: String, message: String| {
        out.push(Diagnostic::new(Code::PlanNotImplemented, path, message));
    };
    for (name, c) in &plan.components {
        let at = join("components", name);
        if let Some(t) = &c.trust {
            let trust = join(&at, "trust");
            if !t.require_signature && (!t.signers.is_empty() || t.threshold.is_some()) {
                refuse(
                    &mut out,
                    join(&trust, "signers"),
                    format!(
                        "`{name}` lists signers without `require-signature = true`, so they would be ignored; add `require-signature = true` or remove `signers`"
                    ),
                );
            }
            if t.require_signature && matches!(c.source, Source::Oci(_)) {
                refuse(
                    &mut out,
                    join(&trust, "require-signature"),
                    format!(
                        "`{name}` requires a signature on an `oci` source, which this host cannot fetch; use a `path` or `blob` source"
                    ),
                );
            }
        }
        for &cap in UNIMPLEMENTED_CAPABILITIES {
            if c.capabilities.requests(cap) && plan.grants.grants(cap) {
                refuse(
                    &mut out,
                    join(&join(&at, "capabilities"), cap.as_str()),
                    format!(
                        "`{name}` is granted `{cap}`, but this host does not implement `std:{cap}`, so the grant would give nothing; remove the request and the grant",
                        cap = cap.as_str()
                    ),
                );
            }
        }
        for (iface, b) in &c.imports {
            if let Binding::Host { capability, .. } = b
                && UNIMPLEMENTED_CAPABILITIES.contains(capability)
            {
                refuse(
                    &mut out,
                    join(&join(&at, "imports"), iface),
                    format!(
                        "`{name}` takes `{iface}` from the host's `{cap}`, which this host does not implement; bind it to a component or deny it (`deny = true`)",
                        cap = capability.as_str()
                    ),
                );
            }
        }
    }
    let o = &plan.observability;
    for (field, on, what) in [
        ("metrics", o.metrics, "collect metrics"),
        (
            "audit",
            o.audit.as_deref() == Some("stderr"),
            "write audit records to stderr (a tamper-evident log is `file:PATH`)",
        ),
        ("attest", o.attest, "attest runs"),
    ] {
        if on {
            refuse(
                &mut out,
                join("observability", field),
                format!(
                    "`observability.{field}` asks the host to {what}, which this host does not do yet, so nothing would be {}; remove it",
                    if field == "metrics" {
                        "collected"
                    } else {
                        "recorded"
                    }
                ),
            );
        }
    }
    if plan.policy.tenant.is_some() {
        refuse(
            &mut out,
            "policy.tenant".into(),
            "`policy.tenant` names a tenant, but this host does not isolate tenants, so the composition would run like any other; remove it".into(),
        );
    }
    if plan.policy.determinism == Determinism::Required {
        for &cap in OUTSIDE_WORLD {
            if plan.grants.grants(cap) {
                refuse(
                    &mut out,
                    join("grants", cap.as_str()),
                    format!(
                        "`policy.determinism = \"required\"`, but the plan grants `{cap}`, through which a run depends on the world outside the host, so it could not be deterministic; remove the grant or the requirement",
                        cap = cap.as_str()
                    ),
                );
            }
        }
        if plan.grants.grants(Capability::Audit) {
            refuse(
                &mut out,
                join("grants", Capability::Audit.as_str()),
                "`policy.determinism = \"required\"`, but the plan grants `audit`, whose appends answer with the record's place in a log that other runs write to, so a run could not be deterministic; remove the grant or the requirement".into(),
            );
        }
        if plan.grants.grants(Capability::Attest) {
            refuse(
                &mut out,
                join("grants", Capability::Attest.as_str()),
                "`policy.determinism = \"required\"`, but the plan grants `attest`, whose evidence carries the host's time and a random instance id, so a run could not be deterministic; remove the grant or the requirement".into(),
            );
        }
    }
    out
}
