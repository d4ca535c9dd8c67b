//! Building real components from WIT alone, for tests: a core module that imports and exports
//! everything a world names (wit-component's dummy module), made into a component.
//! Used by the tests of this workspace and by tools that need a component of a given shape;
//! compose-wit is a build-side crate, so none of this reaches a runtime binary.

use wit_component::{ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata};
use wit_parser::{LiftLowerAbi, ManglingAndAbi, Resolve, WorldId};

/// The component for `world` of `resolve`: every import is imported and every export exported,
/// with the canonical ABI; its functions do nothing useful. Panics if the world cannot be built.
pub fn component_for_world(resolve: &Resolve, world: WorldId) -> Vec<u8> {
    let mut module = dummy_module(resolve, world, ManglingAndAbi::Legacy(LiftLowerAbi::Sync));
    embed_component_metadata(&mut module, resolve, world, StringEncoding::UTF8, false)
        .expect("metadata embeds");
    ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("the world does not build into a component: {e:#}"))
}

/// Parses WIT files given as (name, text) in order, dependencies first, and builds the named
/// world of the last one into a component.
pub fn component_from_wit(files: &[(&str, &str)], world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let mut last = None;
    for (name, text) in files {
        last = Some(
            resolve
                .push_str(name, text)
                .unwrap_or_else(|e| panic!("{}", resolve.render_error(&e))),
        );
    }
    let pkg = last.expect("at least one file");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("the world exists");
    component_for_world(&resolve, world)
}
