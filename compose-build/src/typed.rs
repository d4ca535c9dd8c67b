//! The WIT for typed access to a composition's exports: the composed component's own WIT
//! (decoded from its binary, so it is exactly what the component exports) plus a world
//! `typed-exports` that exports its non-WASI interfaces, for wasmtime's `bindgen!`.

use compose_wit::Wit;
use wit_component::WitPrinter;
use wit_parser::{WorldItem, WorldKey};

/// The world `bindgen!` should generate, in the WIT text [`exports_wit`] returns.
pub const WORLD: &str = "typed-exports";

/// WIT text for the component's exported interfaces other than WASI's, with the world
/// [`WORLD`]; `None` when it exports none (a `wasi:cli/run` command, say).
pub fn exports_wit(component: &[u8]) -> Option<String> {
    let wit = Wit::from_component("composition", component).ok()?;
    let resolve = wit.resolve();
    let root = wit.package();
    let world = resolve.packages[root].worlds.values().next().copied()?;
    let exports: Vec<String> = resolve.worlds[world]
        .exports
        .iter()
        .filter_map(|(key, item)| match (key, item) {
            (WorldKey::Interface(_), WorldItem::Interface { .. }) => {
                Some(resolve.name_world_key(key))
            }
            _ => None,
        })
        .filter(|name| !name.starts_with("wasi:"))
        .collect();
    if exports.is_empty() {
        return None;
    }
    let others: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != root)
        .collect();
    let mut printer = WitPrinter::default();
    printer.print(resolve, root, &others).ok()?;
    let text = printer.output.to_string();
    // Add the world to the root package, right after its `package …;` line.
    let (head, rest) = text.split_once(";\n")?;
    let world_text: String = exports.iter().map(|e| format!("  export {e};\n")).collect();
    Some(format!(
        "{head};\n\nworld {WORLD} {{\n{world_text}}}\n{rest}"
    ))
}
