//! A composed component's recorded plan (the [`SECTION`] custom section `emit` writes): what
//! `exec run X.wasm` may take from it when the user gives no plan.
//!
//! Whoever built a component wrote its recorded plan, so its grants are not the user's consent.
//! A bare component keeps the recorded wiring and requests, and of the recorded grants only
//! [`BARE_GRANTS`] (the output streams, arguments, clocks and random numbers), under the host's
//! default limits. Everything else (files, environment, network, HTTP, secrets, stdin) is given
//! on the command line ([`Allow`], `--allow CAP=VALUE`) or by the user's own plan (`--plan`,
//! which replaces the recorded one entirely). Limits, secret references, trust rules and sinks
//! (`observability`) never come from a recorded plan.

use super::model::*;
use super::names::is_env_name;

/// The name of the custom section holding an emitted component's plan, as canonical CBOR.
/// It is part of the component's bytes, so the component's digest covers it.
pub const SECTION: &str = "sys:compose/plan";

/// The grants a recorded plan gives by itself: nothing that reads or changes the world
/// outside the guest.
pub const BARE_GRANTS: &[Capability] = &[
    Capability::Stdout,
    Capability::Stderr,
    Capability::Args,
    Capability::Clocks,
    Capability::Random,
];

/// One grant given on the command line (`--allow CAP[=VALUE]`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allow {
    /// `stdin`, `stdout`, `stderr`, `stdio`, `args`, `clocks` or `random`.
    Flag(Capability),
    /// `env=NAME`: an environment variable passed through.
    Env(String),
    /// `dirs=HOST::GUEST[::ro|::rw]`: a preopened directory (read-only unless `::rw`).
    Dir(DirGrant),
    /// `network=HOST:PORT`.
    Network(String),
    /// `http=HOST[:PORT]`.
    Http(String),
    /// `secrets=TOKEN=REFERENCE`: where the host reads a secret token from.
    Secret(String, SecretRef),
}

impl Allow {
    /// The forms `--allow` takes, for messages and `--help`.
    pub const FORMS: &'static str = "stdin, stdout, stderr, stdio, args, clocks, random, env=NAME, dirs=HOST::GUEST[::rw], network=HOST:PORT, http=HOST[:PORT], secrets=TOKEN=REFERENCE";

    /// Reads one `--allow` value; the error says which forms there are.
    pub fn parse(s: &str) -> Result<Allow, String> {
        let bad = |why: &str| format!("`--allow {s}`: {why}; the forms are {}", Allow::FORMS);
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (s, None),
        };
        let cap = Capability::parse(name).ok_or_else(|| bad("not a capability"))?;
        let need = || {
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad("give a value"))
        };
        Ok(match cap {
            Capability::Stdio
            | Capability::Stdin
            | Capability::Stdout
            | Capability::Stderr
            | Capability::Args
            | Capability::Clocks
            | Capability::Random
            | Capability::Attest => match value {
                None => Allow::Flag(cap),
                Some(_) => return Err(bad("this capability is granted as a whole, with no value")),
            },
            Capability::Env => {
                let v = need()?;
                if !is_env_name(v) {
                    return Err(bad("not an environment variable name"));
                }
                Allow::Env(v.to_owned())
            }
            Capability::Dirs => {
                let v = need()?;
                let mut parts = v.split("::");
                let (host, guest, mode) = (parts.next(), parts.next(), parts.next());
                let mode = match mode {
                    None | Some("ro") => Mode::Ro,
                    Some("rw") => Mode::Rw,
                    Some(_) => return Err(bad("the mode after the guest path is `ro` or `rw`")),
                };
                match (host, guest, parts.next()) {
                    (Some(h), Some(g), None) if !h.is_empty() && g.starts_with('/') => {
                        Allow::Dir(DirGrant {
                            host: h.to_owned(),
                            guest: g.to_owned(),
                            mode,
                        })
                    }
                    _ => return Err(bad("write `dirs=HOST::GUEST` with an absolute guest path")),
                }
            }
            Capability::Network => Allow::Network(need()?.to_owned()),
            Capability::Http => Allow::Http(need()?.to_owned()),
            Capability::Secrets => {
                let (token, reference) = need()?
                    .split_once('=')
                    .ok_or_else(|| bad("write `secrets=TOKEN=REFERENCE`"))?;
                let reference = SecretRef::parse(reference).ok_or_else(|| {
                    bad("the reference is `env:NAME`, `file:PATH`, `vault:PATH#KEY` or `pkcs11:…`, never a value")
                })?;
                Allow::Secret(token.to_owned(), reference)
            }
            _ => {
                return Err(bad(
                    "`--allow` cannot grant it: `metrics` is not implemented, and `audit` needs a plan that names its log (`observability.audit`); give a plan (`--plan PLAN`)",
                ));
            }
        })
    }

    /// What it grants, written as `--allow` takes it.
    pub fn flag(&self) -> String {
        match self {
            Allow::Flag(c) => format!("--allow {}", c.as_str()),
            Allow::Env(n) => format!("--allow env={n}"),
            Allow::Dir(d) => format!("--allow {}", dir_value(&d.host, &d.guest, d.mode)),
            Allow::Network(a) => format!("--allow network={a}"),
            Allow::Http(a) => format!("--allow http={a}"),
            Allow::Secret(t, r) => format!("--allow secrets={t}={}", r.as_str()),
        }
    }
}

fn dir_value(host: &str, guest: &str, mode: Mode) -> String {
    match mode {
        Mode::Ro => format!("dirs={host}::{guest}"),
        Mode::Rw => format!("dirs={host}::{guest}::rw"),
    }
}

/// The plan a bare component runs under, and what was left out of it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Bare {
    /// The recorded wiring and requests, [`BARE_GRANTS`] of the recorded grants, and the
    /// `--allow` grants; default limits, no secret references, trust rules or sinks.
    pub plan: Plan,
    /// Optional requests the recorded plan grants but the run leaves out, each with the flag
    /// that would give it.
    pub notes: Vec<String>,
}

/// Why a bare component cannot run as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BareError {
    /// An `--allow` that no component requests: it would grant nothing.
    Unrequested(String),
    /// Required requests that only the user can grant, one line each with the recorded grant
    /// and the flag that would give it.
    Refused(Vec<String>),
}

/// The plan a component with the recorded plan `recorded` runs under when the user gives no
/// plan, with `allows` from the command line. Relative host paths in `allows` must have been
/// made absolute by the caller (they are the user's, relative to where they stand).
pub fn bare(recorded: &Plan, allows: &[Allow]) -> Result<Bare, BareError> {
    let mut plan = Plan::new();
    plan.name = recorded.name.clone();
    plan.exports = recorded.exports.clone();
    plan.components = recorded.components.clone();
    for c in plan.components.values_mut() {
        c.trust = None;
    }
    for &cap in BARE_GRANTS {
        if recorded.grants.grants(cap) {
            plan.grants.set_flag(cap, true);
        }
    }
    for allow in allows {
        if let Allow::Dir(d) = allow
            && d.mode == Mode::Ro
            && requested(
                &plan,
                &Allow::Dir(DirGrant {
                    mode: Mode::Rw,
                    ..d.clone()
                }),
            )
        {
            return Err(BareError::Unrequested(format!(
                "`{}`: `{}` is requested read-write and this grants it read-only; add `::rw`",
                allow.flag(),
                d.guest
            )));
        }
        if !requested(&plan, allow) {
            return Err(BareError::Unrequested(format!(
                "`{}`: no component of the recorded plan requests it, so it would grant nothing",
                allow.flag()
            )));
        }
        let g = &mut plan.grants;
        match allow {
            Allow::Flag(c) => g.set_flag(*c, true),
            Allow::Env(n) => push(&mut g.env, n),
            Allow::Dir(d) => {
                if !g.dirs.contains(d) {
                    g.dirs.push(d.clone());
                }
            }
            Allow::Network(a) => push(&mut g.network, a),
            Allow::Http(a) => push(&mut g.http, a),
            Allow::Secret(t, r) => {
                plan.secrets.insert(t.clone(), r.clone());
            }
        }
    }
    let mut refused = Vec::new();
    let mut notes = Vec::new();
    for (name, c) in &plan.components {
        for (want, need) in wants(&c.capabilities) {
            if met(&plan, &want) {
                continue;
            }
            let (recorded_grant, flag) = explain(recorded, &want);
            match need {
                Need::Required => refused.push(format!(
                    "`{name}` requires {}: {recorded_grant}; {flag}",
                    want.describe()
                )),
                Need::Optional if granted_by(recorded, &want) => notes.push(format!(
                    "`{name}`'s optional request for {} is left out: {recorded_grant}; {flag}",
                    want.describe()
                )),
                Need::Optional => {}
            }
        }
    }
    if refused.is_empty() {
        Ok(Bare { plan, notes })
    } else {
        Err(BareError::Refused(refused))
    }
}

fn push(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_owned());
    }
}

/// One thing a component requests.
enum Want<'a> {
    Flag(Capability),
    Env(&'a str),
    Dir(&'a DirRequest),
    Dest(Capability, &'a str),
    Secret(&'a str),
}

impl Want<'_> {
    fn describe(&self) -> String {
        match self {
            Want::Flag(c) => format!("`{}`", c.as_str()),
            Want::Env(n) => format!("env `{n}`"),
            Want::Dir(d) => format!("dirs `{}` ({})", d.guest, mode_name(d.mode)),
            Want::Dest(c, a) => format!("{} `{a}`", c.as_str()),
            Want::Secret(t) => format!("the secret `{t}`"),
        }
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Ro => "read-only",
        Mode::Rw => "read-write",
    }
}

/// Everything `caps` requests, with how much it needs it.
fn wants(caps: &Capabilities) -> Vec<(Want<'_>, Need)> {
    let mut out = Vec::new();
    for &cap in Capability::ALL {
        if cap.kind() == CapabilityKind::Flag
            && cap != Capability::Stdio
            && let Some(need) = caps.flag_need(cap)
        {
            out.push((Want::Flag(cap), need));
        }
    }
    if let Some(r) = &caps.env {
        out.extend(r.names.iter().map(|n| (Want::Env(n), r.need)));
    }
    out.extend(caps.dirs.iter().map(|d| (Want::Dir(d), d.need)));
    for (cap, req) in [
        (Capability::Network, &caps.network),
        (Capability::Http, &caps.http),
    ] {
        if let Some(r) = req {
            out.extend(r.allow.iter().map(|a| (Want::Dest(cap, a), r.need)));
        }
    }
    if let Some(r) = &caps.secrets {
        out.extend(r.tokens.iter().map(|t| (Want::Secret(t), r.need)));
    }
    out
}

/// The grant of `g` that meets a directory request: the same guest path, and `rw` for `rw`.
fn dir_grant<'g>(g: &'g Grants, d: &DirRequest) -> Option<&'g DirGrant> {
    g.dirs
        .iter()
        .find(|gd| gd.guest == d.guest && (gd.mode == Mode::Rw || d.mode == Mode::Ro))
}

/// Whether `plan` grants `want` (a secret: whether it says where the token comes from).
fn met(plan: &Plan, want: &Want) -> bool {
    let g = &plan.grants;
    match want {
        Want::Flag(c) => g.grants(*c),
        Want::Env(n) => g.env.iter().any(|e| e == n),
        Want::Dir(d) => dir_grant(g, d).is_some(),
        Want::Dest(Capability::Network, a) => g.network.iter().any(|e| e == a),
        Want::Dest(_, a) => g.http.iter().any(|e| e == a),
        Want::Secret(t) => plan.secrets.contains_key(*t),
    }
}

/// Whether the recorded plan grants `want`.
fn granted_by(recorded: &Plan, want: &Want) -> bool {
    met(recorded, want)
}

/// What the recorded plan says about `want`, and what the user can do.
fn explain(recorded: &Plan, want: &Want) -> (String, String) {
    const NOT_CONSENT: &str = "its recorded plan grants";
    let or_plan = "or give your own plan (`--plan PLAN`)";
    let g = &recorded.grants;
    match want {
        Want::Flag(c) if super::UNIMPLEMENTED_CAPABILITIES.contains(c) => (
            format!("this host does not implement `{}`", c.as_str()),
            "no flag or plan can grant it here".to_owned(),
        ),
        Want::Dir(d) => match dir_grant(g, d) {
            Some(gd) if !gd.host.starts_with('/') => (
                format!(
                    "{NOT_CONSENT} host folder `{}` as `{}` ({}), a path relative to the folder that plan was in, which the component does not record, so it is refused",
                    gd.host,
                    gd.guest,
                    mode_name(gd.mode)
                ),
                format!(
                    "name the folder yourself, `--allow {}`, {or_plan}",
                    dir_value("/ABSOLUTE/PATH", &d.guest, d.mode)
                ),
            ),
            Some(gd) => (
                format!(
                    "{NOT_CONSENT} host folder `{}` as `{}` ({}), but a component's recorded grants are not your consent",
                    gd.host,
                    gd.guest,
                    mode_name(gd.mode)
                ),
                format!(
                    "to give it, add `--allow {}`, {or_plan}",
                    dir_value(&gd.host, &d.guest, d.mode)
                ),
            ),
            None => (
                "its recorded plan does not grant it either".to_owned(),
                format!(
                    "to give it, add `--allow {}`, {or_plan}",
                    dir_value("HOST", &d.guest, d.mode)
                ),
            ),
        },
        Want::Secret(t) => match recorded.secrets.get(*t) {
            Some(r) => (
                format!(
                    "its recorded plan reads it from `{}`, but secret references never come from a component",
                    r.as_str()
                ),
                format!(
                    "to read it from there, add `--allow secrets={t}={}`, {or_plan}",
                    r.as_str()
                ),
            ),
            None => (
                "its recorded plan does not say where it comes from".to_owned(),
                format!("add `--allow secrets={t}=REFERENCE`, {or_plan}"),
            ),
        },
        _ => {
            let flag = match want {
                Want::Flag(c) => format!("--allow {}", c.as_str()),
                Want::Env(n) => format!("--allow env={n}"),
                Want::Dest(c, a) => format!("--allow {}={a}", c.as_str()),
                Want::Dir(_) | Want::Secret(_) => unreachable!("explained above"),
            };
            let said = if granted_by(recorded, want) {
                match want {
                    Want::Flag(c) if c.is_stream() && !g.flag(*c) => format!(
                        "{NOT_CONSENT} it (as `stdio`), but a component's recorded grants are not your consent"
                    ),
                    _ => format!(
                        "{NOT_CONSENT} it, but a component's recorded grants are not your consent"
                    ),
                }
            } else {
                "its recorded plan does not grant it either".to_owned()
            };
            (said, format!("to give it, add `{flag}`, {or_plan}"))
        }
    }
}

/// Whether some component of `plan` requests what `allow` grants (a directory: with a mode
/// the grant meets).
fn requested(plan: &Plan, allow: &Allow) -> bool {
    plan.components.values().any(|c| {
        let caps = &c.capabilities;
        match allow {
            Allow::Flag(Capability::Stdio) => Capability::STREAMS
                .iter()
                .any(|s| caps.flag_need(*s).is_some()),
            Allow::Flag(cap) => caps.flag_need(*cap).is_some(),
            Allow::Env(n) => caps.env.as_ref().is_some_and(|r| r.names.contains(n)),
            Allow::Dir(d) => caps
                .dirs
                .iter()
                .any(|r| r.guest == d.guest && (d.mode == Mode::Rw || r.mode == Mode::Ro)),
            Allow::Network(a) => caps.network.as_ref().is_some_and(|r| r.allow.contains(a)),
            Allow::Http(a) => caps.http.as_ref().is_some_and(|r| r.allow.contains(a)),
            Allow::Secret(t, _) => caps.secrets.as_ref().is_some_and(|r| r.tokens.contains(t)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(extra: &str) -> Plan {
        crate::plan::from_toml(&format!(
            r#"
[components.app]
path = "app.wasm"
exports = ["wasi:cli/run"]
{extra}
[exports]
"wasi:cli/run" = "app"
"#
        ))
        .unwrap()
    }

    fn refused(r: Result<Bare, BareError>) -> String {
        match r {
            Err(BareError::Refused(lines)) => lines.join("\n"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_the_bare_grants_come_from_the_recorded_plan() {
        let r = recorded(
            r#"capabilities = { stdio = "optional", args = "required", clocks = "optional", random = "optional", env = { names = ["HOME"], need = "optional" } }
[grants]
stdio = true
args = true
clocks = true
random = true
env = ["HOME"]
[policy]
memory = 1048576
fuel = 10
[observability]
audit = "file:audit.log"
"#,
        );
        let b = bare(&r, &[]).unwrap();
        let g = &b.plan.grants;
        assert!(g.grants(Capability::Stdout) && g.grants(Capability::Stderr));
        assert!(g.grants(Capability::Args) && g.grants(Capability::Clocks));
        assert!(g.grants(Capability::Random));
        assert!(
            !g.grants(Capability::Stdin),
            "stdin came in through `stdio`"
        );
        assert!(g.env.is_empty());
        assert!(b.plan.policy.is_empty() && b.plan.observability.is_empty());
        // The optional ones left out are named, with the flag that gives them.
        let notes = b.notes.join("\n");
        assert!(notes.contains("`--allow stdin`"), "{notes}");
        assert!(notes.contains("`--allow env=HOME`"), "{notes}");
    }

    #[test]
    fn a_recorded_root_folder_read_write_is_refused_with_the_flag_that_gives_it() {
        let r = recorded(
            r#"capabilities = { dirs = [{ guest = "/data", mode = "rw", need = "required" }] }
[grants]
dirs = [{ host = "/", guest = "/data", mode = "rw" }]
"#,
        );
        let why = refused(bare(&r, &[]));
        assert!(
            why.contains("host folder `/` as `/data` (read-write)"),
            "{why}"
        );
        assert!(why.contains("`--allow dirs=/::/data::rw`"), "{why}");
        // Given on the command line, it is granted (and only what was given).
        let allow = Allow::parse("dirs=/tmp::/data::rw").unwrap();
        let b = bare(&r, &[allow]).unwrap();
        assert_eq!(b.plan.grants.dirs.len(), 1);
        assert_eq!(b.plan.grants.dirs[0].host, "/tmp");
        // A read-only folder does not meet a read-write request.
        let ro = Allow::parse("dirs=/tmp::/data").unwrap();
        assert!(matches!(bare(&r, &[ro]), Err(BareError::Unrequested(_))));
    }

    #[test]
    fn a_relative_recorded_folder_is_refused_and_not_suggested() {
        let r = recorded(
            r#"capabilities = { dirs = ["/data"] }
[grants]
dirs = [{ host = "data", guest = "/data" }]
"#,
        );
        let why = refused(bare(&r, &[]));
        assert!(why.contains("relative"), "{why}");
        assert!(
            why.contains("`--allow dirs=/ABSOLUTE/PATH::/data`"),
            "{why}"
        );
        assert!(!why.contains("dirs=data::"), "{why}");
    }

    #[test]
    fn a_recorded_secret_reference_is_never_used() {
        let r = recorded(
            r#"imports = { "std:secrets/store" = { host = "secrets" } }
capabilities = { secrets = { tokens = ["api-key"], need = "required" } }
[secrets]
api-key = "env:API_KEY"
"#,
        );
        let why = refused(bare(&r, &[]));
        assert!(why.contains("`env:API_KEY`"), "{why}");
        assert!(
            why.contains("`--allow secrets=api-key=env:API_KEY`"),
            "{why}"
        );
        let allow = Allow::parse("secrets=api-key=env:OTHER").unwrap();
        let b = bare(&r, &[allow]).unwrap();
        assert_eq!(b.plan.secrets["api-key"].as_str(), "env:OTHER");
    }

    #[test]
    fn an_allow_nothing_requests_is_an_error() {
        let r = recorded("capabilities = { stdout = \"required\" }\n[grants]\nstdout = true\n");
        for flag in ["env=HOME", "stdin", "http=example.com:443", "dirs=/a::/b"] {
            let allow = Allow::parse(flag).unwrap();
            assert!(
                matches!(bare(&r, &[allow]), Err(BareError::Unrequested(_))),
                "{flag}"
            );
        }
    }

    #[test]
    fn allow_values_are_checked() {
        for bad in [
            "nope",
            "env",
            "env=1X",
            "stdout=yes",
            "dirs=/a",
            "dirs=/a::b",
            "dirs=/a::/b::rx",
            "secrets=api-key",
            "secrets=api-key=hunter2",
            "audit",
        ] {
            assert!(Allow::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Allow::parse("dirs=./x::/x::rw").unwrap().flag(),
            "--allow dirs=./x::/x::rw"
        );
    }
}
