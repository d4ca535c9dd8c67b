//! `emit`: plan → resolved, checked components → one composed component, cached by content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use compose_model::host::{Provided, host_package, same_interface};
use compose_model::plan::{self, Binding, Diagnostic, Plan};
use compose_model::{Code, Digest};
use compose_wit::{Item, Wit, check_subset};
use wit_parser::{WorldItem, WorldKey};

use crate::source::{Resolved, resolve_all};
use compose_model::blobs::BlobStore;

/// How to emit. `Default` builds crates from the plan's nearest Cargo workspace into its
/// `target/`, and uses no cache.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EmitOptions {
    /// The Cargo workspace (folder or `Cargo.toml`) that `crate` sources come from; default: the
    /// nearest `Cargo.toml` above the plan.
    pub workspace: Option<PathBuf>,
    /// Where guest crates are built; default: the workspace's `target/`.
    pub guest_target_dir: Option<PathBuf>,
    /// The blob store for `blob` sources and for cached results.
    pub cache: Option<BlobStore>,
    /// Whether a cached result may be returned (results are stored either way).
    pub use_cache: bool,
}

impl EmitOptions {
    /// Sets the workspace crates come from.
    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workspace = Some(dir.into());
        self
    }

    /// Sets where guest crates are built.
    pub fn guest_target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.guest_target_dir = Some(dir.into());
        self
    }

    /// Uses a blob store, and returns cached results from it when `use_cache`.
    pub fn cache(mut self, store: BlobStore, use_cache: bool) -> Self {
        self.cache = Some(store);
        self.use_cache = use_cache;
        self
    }
}

/// A composed component and what it was made from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Emitted {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// Its digest.
    pub digest: Digest,
    /// The digest of the plan's canonical CBOR.
    pub plan_digest: Digest,
    /// H(canonical plan, input digests, emitter version): what the cache is keyed by.
    pub emit_key: Digest,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Each component's digest.
    pub inputs: BTreeMap<String, Digest>,
    /// Every file read to make it, sorted: component files, guest crates' sources, WIT files
    /// and manifests (not the plan file itself). A build script watches these.
    pub files: Vec<PathBuf>,
}

/// Why emit failed: every problem found, as plan diagnostics.
#[derive(Debug)]
pub struct EmitError {
    /// The plan file, for messages.
    pub file: String,
    /// The plan's TOML text, for spans, when it came from TOML.
    pub source: Option<String>,
    /// The problems.
    pub diagnostics: Vec<Diagnostic>,
}

impl EmitError {
    fn new(file: &str, source: Option<String>, diagnostics: Vec<Diagnostic>) -> Self {
        EmitError {
            file: file.to_owned(),
            source,
            diagnostics,
        }
    }

    /// The diagnostics rendered for a person.
    pub fn render(&self) -> String {
        plan::render(&self.file, self.source.as_deref(), &self.diagnostics)
    }
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for EmitError {}

/// The emitter's version, part of every emit key.
const EMIT_VERSION: &str = "emit:v1";

/// Reads a plan file (TOML or canonical CBOR) and emits its composition.
pub fn emit(plan_path: &Path, options: &EmitOptions) -> Result<Emitted, EmitError> {
    let file = plan_path.display().to_string();
    let (plan, source) = crate::config::read_plan(plan_path)?;
    let base = plan_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    emit_plan(&plan, &base, options).map_err(|mut e| {
        if let Some(text) = &source {
            plan::locate(text, &mut e.diagnostics);
        }
        e.file = file;
        e.source = source;
        e
    })
}

/// Emits the composition of a checked plan; relative paths resolve against `base`.
pub fn emit_plan(plan: &Plan, base: &Path, options: &EmitOptions) -> Result<Emitted, EmitError> {
    let fail = |d: Vec<Diagnostic>| EmitError::new("plan", None, d);
    // What this host cannot enforce is refused before anything is built or written.
    let unsupported = plan::unsupported(plan);
    if !unsupported.is_empty() {
        return Err(fail(unsupported));
    }
    let mut diags = Vec::new();
    let mut files = Vec::new();
    let resolved = resolve_all(plan, base, options, &mut diags, &mut files);
    files.sort();
    files.dedup();
    if !diags.is_empty() {
        return Err(fail(diags));
    }
    let plan_cbor = plan.to_cbor();
    let inputs: BTreeMap<String, Digest> = resolved
        .iter()
        .map(|(n, r)| (n.clone(), r.digest))
        .collect();
    let emit_key = emit_key(&plan_cbor, &inputs);
    if let Some(store) = options.cache.as_ref().filter(|_| options.use_cache)
        && let Some((digest, bytes)) = store.get_key("emit", &emit_key)
    {
        return Ok(Emitted {
            bytes,
            digest,
            plan_digest: Digest::of(&plan_cbor),
            emit_key,
            cached: true,
            inputs,
            files,
        });
    }
    let bytes = if pins_wit_ids(plan) {
        // The WIT checks are needed whatever happens (the plan pins identities). They and the
        // composition are independent: run them side by side, and report the checks' findings
        // first (they say more than a failed composition does).
        let composed = std::thread::scope(|s| {
            let composing = s.spawn(|| crate::compose::compose(plan, &resolved));
            check(plan, &resolved, Depth::Wit, &mut diags);
            composing
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        });
        if !diags.is_empty() {
            return Err(fail(diags));
        }
        composed.map_err(|d| fail(vec![d]))?
    } else {
        // Names first (cheap); then compose, which type-checks every wire as the component
        // model does, and validate. Only when that fails are both sides' WIT decoded, to say
        // which function or type differs (the checks then report what they find first).
        check(plan, &resolved, Depth::Names, &mut diags);
        if !diags.is_empty() {
            return Err(fail(diags));
        }
        match crate::compose::compose(plan, &resolved) {
            Ok(bytes) => bytes,
            Err(d) => {
                check(plan, &resolved, Depth::Wit, &mut diags);
                return Err(fail(if diags.is_empty() { vec![d] } else { diags }));
            }
        }
    };
    let digest = Digest::of(&bytes);
    if let Some(store) = &options.cache {
        // Inputs too, so `blob` sources can name them later.
        for r in resolved.values() {
            let _ = store.put_known(&r.bytes, &r.digest);
        }
        if store.put_known(&bytes, &digest).is_ok() {
            let _ = store.set_key("emit", &emit_key, &digest);
        }
    }
    Ok(Emitted {
        bytes,
        digest,
        plan_digest: Digest::of(&plan_cbor),
        emit_key,
        cached: false,
        inputs,
        files,
    })
}

/// H(canonical plan ‖ each component's name and digest ‖ emitter version).
fn emit_key(plan_cbor: &[u8], inputs: &BTreeMap<String, Digest>) -> Digest {
    let mut material = plan_cbor.to_vec();
    for (name, d) in inputs {
        material.extend_from_slice(name.as_bytes());
        material.push(0);
        material.extend_from_slice(d.as_bytes());
    }
    material.extend_from_slice(EMIT_VERSION.as_bytes());
    Digest::of(&material)
}

/// How far the checks go: names only (imports bound, exports present), or also the WIT of
/// both sides of every wire and the identities the plan pins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    Names,
    Wit,
}

/// Whether the plan pins any canonical WIT identity (`wit = "sha256:…"` on an export or a
/// wire), or binds an interface of the project's own WIT packages to the host: checking either
/// needs the components' WIT decoded.
fn pins_wit_ids(plan: &Plan) -> bool {
    plan.components.values().any(|c| {
        c.exports.values().any(|e| e.wit.is_some())
            || c.imports.iter().any(|(name, b)| match b {
                Binding::Component(w) => w.wit.is_some(),
                Binding::Host { .. } => host_interface(name).is_some(),
                _ => false,
            })
    })
}

/// The WIT of the project's packages that the host implements, by package name: a
/// host-bound import of one of them must be part of the package's interface of that name.
const HOST_WIT: &[(&str, &str)] = &[(
    "std:secrets",
    include_str!("../../wit/std-secrets/secrets.wit"),
)];

/// For an import of one of the host's own packages ([`HOST_WIT`]; `std:secrets/store`, with or
/// without `@version`): the package's WIT and the interface's plain name.
fn host_interface(import: &str) -> Option<(&'static str, &str)> {
    let package = host_package(import)?;
    let interface = import.split_once('/')?.1;
    let interface = interface.split_once('@').map_or(interface, |(i, _)| i);
    HOST_WIT
        .iter()
        .find(|(p, _)| *p == package.package)
        .map(|(_, wit)| (*wit, interface))
}

/// Checks that a host-bound import of one of the project's own packages has a shape the host
/// provides: the import must be part of the package's interface of that name.
fn check_host_import(
    name: &str,
    import: &str,
    wit: &Wit,
    item: Item,
    path: &str,
) -> Option<Diagnostic> {
    let (text, interface) = host_interface(import)?;
    let host = Wit::from_str(import, text).expect("the project's WIT packages parse (tested)");
    let mismatch = |why: String| {
        Some(Diagnostic::new(
            Code::EmitShapeMismatch,
            path,
            format!(
                "`{name}` imports `{import}` from the host, but {why}; rebuild `{name}` against the WIT in the project's `wit/` folder"
            ),
        ))
    };
    let Ok(host_item) = host.find(interface) else {
        return mismatch(format!("the host's package has no interface `{interface}`"));
    };
    let (imp, exp) = (wit.form(item), host.form(host_item));
    match check_subset(&imp, &exp) {
        Ok(()) => None,
        Err(why) => mismatch(format!(
            "its shape (identity `{}`) is not part of what the host provides (identity `{}`): {why}",
            wit.id(item),
            host.id(host_item)
        )),
    }
}

/// What one component imports and exports, by the names in its binary; with its WIT when
/// decoded (`Depth::Wit`).
struct Surface {
    wit: Option<Wit>,
    imports: Vec<(String, Option<Item>)>,
    exports: Vec<(String, Option<Item>)>,
}

/// An imported or exported interface and, when the WIT was decoded, its item.
type Named = (String, Option<Item>);

impl Surface {
    /// Finds a name as written in the plan: exactly, or without the binary name's `@version`.
    fn find<'a>(list: &'a [Named], plan_name: &str) -> Option<&'a Named> {
        list.iter()
            .find(|(n, _)| n == plan_name)
            .or_else(|| list.iter().find(|(n, _)| same_interface(n, plan_name)))
    }
}

fn surface(name: &str, r: &Resolved, depth: Depth) -> Result<Surface, Diagnostic> {
    // A binary the quick reader refuses gets the WIT decoder's (more precise) diagnosis.
    if depth == Depth::Names
        && let Some(s) = names(r)
    {
        return Ok(s);
    }
    let wit = Wit::from_component(&r.origin, &r.bytes).map_err(|e| {
        Diagnostic::new(
            Code::EmitInvalidComponent,
            format!("components.{name}"),
            format!(
                "component `{name}` from `{}` is not a component: {e}",
                r.origin
            ),
        )
    })?;
    let resolve = wit.resolve();
    let world = resolve.packages[wit.package()]
        .worlds
        .values()
        .next()
        .copied();
    let list = |items: Option<&wit_parser::IndexMap<WorldKey, WorldItem>>| -> Vec<Named> {
        items
            .into_iter()
            .flatten()
            .filter_map(|(key, item)| match item {
                WorldItem::Interface { id, .. } => {
                    Some((resolve.name_world_key(key), Some(Item::Interface(*id))))
                }
                _ => None,
            })
            .collect()
    };
    let w = world.map(|w| &resolve.worlds[w]);
    let imports = list(w.map(|w| &w.imports));
    let exports = list(w.map(|w| &w.exports));
    Ok(Surface {
        wit: Some(wit),
        imports,
        exports,
    })
}

/// The interfaces a component imports and exports, read from its top-level import and export
/// sections without decoding its WIT (nested modules and components are skipped, not parsed);
/// `None` when the binary does not read as a component.
fn names(r: &Resolved) -> Option<Surface> {
    use wasmparser::{Chunk, Encoding, Parser, Payload};
    // Interface names (`ns:pkg/iface`), as the WIT world lists them; plain names are not.
    let interface = |n: &str| n.contains(':') && n.contains('/');
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut parser = Parser::new(0);
    let mut rest: &[u8] = &r.bytes;
    loop {
        let Chunk::Parsed { payload, consumed } = parser.parse(rest, true).ok()? else {
            return None;
        };
        rest = &rest[consumed..];
        match payload {
            Payload::Version { encoding, .. } if encoding != Encoding::Component => return None,
            Payload::ComponentImportSection(s) => {
                for i in s {
                    let n = i.ok()?.name.name;
                    if interface(n) {
                        imports.push((n.to_owned(), None));
                    }
                }
            }
            Payload::ComponentExportSection(s) => {
                for e in s {
                    let n = e.ok()?.name.name;
                    if interface(n) {
                        exports.push((n.to_owned(), None));
                    }
                }
            }
            // The parser has counted the nested section's bytes as read; step over them.
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                let len = usize::try_from(unchecked_range.end - unchecked_range.start).ok()?;
                rest = rest.get(len..)?;
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    Some(Surface {
        wit: None,
        imports,
        exports,
    })
}

/// Checks every component against the plan: declared exports exist with their ids, every
/// import is bound (or is WASI, which the host provides deny-by-default), and every wire joins
/// shapes that fit.
fn check(
    plan: &Plan,
    resolved: &BTreeMap<String, Resolved>,
    depth: Depth,
    diags: &mut Vec<Diagnostic>,
) {
    let mut surfaces = BTreeMap::new();
    for (name, r) in resolved {
        match surface(name, r, depth) {
            Ok(s) => {
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
    surfaces: &BTreeMap<String, Surface>,
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
    let what = match exporters.as_slice() {
        [] => format!(
            "`{name}` imports `{import}`, which no component exports; add a component that exports it and wire it, or deny it"
        ),
        [one] => format!(
            "`{name}` imports `{import}`, which the plan leaves unbound; `{one}` exports it: wire it with `\"{plain}\" = \"{one}\"` under `components.{name}.imports`"
        ),
        many => format!(
            "`{name}` imports `{import}`, which the plan leaves unbound; {} export it: wire one of them under `components.{name}.imports`",
            many.iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    let mut d = Diagnostic::new(Code::PlanUnboundImport, path, what);
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

#[cfg(test)]
mod tests {
    use super::{Depth, Resolved, surface};
    use compose_model::Digest;

    /// The names read from a binary's top level are the interfaces its WIT world imports and
    /// exports, in the same order, versions included (the quick path checks wiring with them).
    #[test]
    fn names_from_the_binary_match_the_decoded_wit() {
        let wit = "package example:shapes@1.2.0;
interface a { f: func(x: u32) -> u32; }
interface b { record r { x: string } g: func(r: r); }
interface c { h: func(); }
world w {
    import a;
    import b;
    import wasi:cli/stdout@0.2.0;
    import plain: func();
    export c;
    export b;
    export run: func();
}
";
        let stdout = "package wasi:cli@0.2.0;
interface stdout { get-stdout: func() -> u32; }
";
        let bytes = compose_wit::testing::component_from_wit(
            &[("stdout.wit", stdout), ("shapes.wit", wit)],
            "w",
        );
        let r = Resolved {
            digest: Digest::of(&bytes),
            bytes,
            origin: "test".into(),
        };
        let names = |d: Depth| {
            let s = surface("x", &r, d).unwrap_or_else(|e| panic!("{e:?}"));
            let list = |l: &[super::Named]| l.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            (list(&s.imports), list(&s.exports))
        };
        let quick = names(Depth::Names);
        assert_eq!(quick, names(Depth::Wit));
        assert_eq!(
            quick,
            (
                vec![
                    "example:shapes/a@1.2.0".to_owned(),
                    "example:shapes/b@1.2.0".to_owned(),
                    "wasi:cli/stdout@0.2.0".to_owned()
                ],
                vec![
                    "example:shapes/c@1.2.0".to_owned(),
                    "example:shapes/b@1.2.0".to_owned()
                ]
            )
        );
        // Not a component: the quick reader declines and the WIT decoder says why.
        let core = Resolved {
            bytes: wat::parse_str("(module)").unwrap(),
            digest: Digest::of(b""),
            origin: "core.wasm".into(),
        };
        let e = surface("core", &core, Depth::Names)
            .err()
            .expect("not a component");
        assert!(e.message.contains("is not a component"), "{}", e.message);
    }
}
