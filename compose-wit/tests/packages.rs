//! The project's WIT packages in `wit/`: each parses and resolves, is named after its folder,
//! documents what it declares, and every world can be built into a valid component.

use std::path::Path;

use compose_wit::{Item, Wit};

const PACKAGES: &[(&str, &str)] = &[
    ("sys-compose", "sys:compose@1.0.0"),
    ("canon-wit", "canon:wit@1.0.0"),
    ("canon-cbor", "canon:cbor@1.0.0"),
    ("std-secrets", "std:secrets@1.0.0"),
    ("std-metrics", "std:metrics@1.0.0"),
    ("std-audit", "std:audit@1.0.0"),
    ("std-attest", "std:attest@1.0.0"),
];

fn load(folder: &str) -> Wit {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wit")
        .join(folder);
    Wit::from_path(&dir).unwrap_or_else(|e| panic!("wit/{folder}: {e}"))
}

#[test]
fn every_package_parses_and_is_named_after_its_folder() {
    let dirs: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs.len(), PACKAGES.len(), "wit/ has {dirs:?}");
    for (folder, name) in PACKAGES {
        let wit = load(folder);
        let pkg = &wit.resolve().packages[wit.package()];
        assert_eq!(pkg.name.to_string(), *name);
        assert!(
            !pkg.interfaces.is_empty() && !pkg.worlds.is_empty(),
            "{name} has no interface or world"
        );
        assert!(pkg.docs.contents.is_some(), "{name} has no package docs");
        for (iname, id) in &pkg.interfaces {
            let iface = &wit.resolve().interfaces[*id];
            assert!(iface.docs.contents.is_some(), "{name}/{iname} has no docs");
            for (fname, f) in &iface.functions {
                assert!(
                    f.docs.contents.is_some(),
                    "{name}/{iname}.{fname} has no docs"
                );
            }
        }
    }
}

/// Every world resolves into something a guest can be built against: a core module that imports
/// and exports what the world names becomes a component that validates.
#[test]
fn every_world_builds_into_a_valid_component() {
    for (folder, _) in PACKAGES {
        let wit = load(folder);
        let worlds: Vec<_> = wit.resolve().packages[wit.package()]
            .worlds
            .clone()
            .into_iter()
            .collect();
        for (name, world) in worlds {
            eprintln!("wit/{folder} world `{name}`");
            let component = compose_wit::testing::component_for_world(wit.resolve(), world);
            wasmparser::Validator::new()
                .validate_all(&component)
                .unwrap();
            // And the world decoded from it has the same id as the source's.
            let decoded = Wit::from_component("dummy.wasm", &component).unwrap();
            for (key, item) in &wit.resolve().worlds[world].exports {
                if let wit_parser::WorldItem::Interface { id, .. } = item {
                    let qualified = wit.resolve().id_of(*id).unwrap();
                    let a = wit.id(Item::Interface(*id));
                    let b = decoded.id(decoded.find(&qualified).unwrap());
                    assert_eq!(a, b, "wit/{folder} world `{name}` export {key:?}");
                }
            }
        }
    }
}
