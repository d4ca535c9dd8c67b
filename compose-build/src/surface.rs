//! What one component imports and exports: read quickly from its binary's top level, or from
//! its decoded WIT when shapes and identities must be compared.

use compose_model::Code;
use compose_model::host::same_interface;
use compose_model::plan::Diagnostic;
use compose_wit::{Item, Wit};
use wit_parser::{WorldItem, WorldKey};

use crate::source::Resolved;

/// How far the checks go: names only (imports bound, exports present), or also the WIT of
/// both sides of every wire and the identities the plan pins.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    Names,
    Wit,
}

/// What one component imports and exports, by the names in its binary; with its WIT when
/// decoded (`Depth::Wit`).
pub(crate) struct Surface {
    pub(crate) wit: Option<Wit>,
    pub(crate) imports: Vec<(String, Option<Item>)>,
    pub(crate) exports: Vec<(String, Option<Item>)>,
}

/// An imported or exported interface and, when the WIT was decoded, its item.
pub(crate) type Named = (String, Option<Item>);

impl Surface {
    /// Finds a name as written in the plan: exactly, or without the binary name's `@version`.
    pub(crate) fn find<'a>(list: &'a [Named], plan_name: &str) -> Option<&'a Named> {
        list.iter()
            .find(|(n, _)| n == plan_name)
            .or_else(|| list.iter().find(|(n, _)| same_interface(n, plan_name)))
    }
}

pub(crate) fn surface(name: &str, r: &Resolved, depth: Depth) -> Result<Surface, Diagnostic> {
    // A binary the quick reader refuses gets the WIT decoder's (more precise) diagnosis.
    if depth == Depth::Names
        && let Some(s) = names(r)
    {
        return Ok(s);
    }
    let wit = Wit::from_component(&r.origin, &r.input.bytes).map_err(|e| {
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
    let mut rest: &[u8] = &r.input.bytes;
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

#[cfg(test)]
mod tests {
    use super::{Depth, Resolved, surface};
    use crate::source::Input;

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
            input: Input::new(bytes.into()),
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
            input: Input::new(wat::parse_str("(module)").unwrap().into()),
            origin: "core.wasm".into(),
        };
        let e = surface("core", &core, Depth::Names)
            .err()
            .expect("not a component");
        assert!(e.message.contains("is not a component"), "{}", e.message);
    }
}
