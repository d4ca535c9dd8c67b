//! Loading WIT from a `.wit` file, a WIT directory (with `deps/`) or a compiled component, and
//! finding packages, interfaces and worlds in it by name.

use std::path::Path;

use compose_model::Digest;
use compose_model::cbor::Value;
use wit_parser::{InterfaceId, PackageId, Resolve, WorldId};

use crate::Error;
use crate::form;

/// Resolved WIT and the package it was loaded for.
pub struct Wit {
    resolve: Resolve,
    package: PackageId,
}

/// Something that has a canonical id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// A package: the ids of its interfaces and worlds.
    Package(PackageId),
    /// An interface.
    Interface(InterfaceId),
    /// A world.
    World(WorldId),
}

impl Wit {
    /// Loads a `.wit` file, a WIT directory (its `deps/` folder first) or a `.wasm` component or
    /// encoded WIT package.
    pub fn from_path(path: &Path) -> Result<Wit, Error> {
        let is_wasm = path.is_file()
            && std::fs::read(path)
                .map(|b| b.starts_with(b"\0asm"))
                .unwrap_or(false);
        if is_wasm {
            let bytes = std::fs::read(path).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            return Wit::from_component(&path.display().to_string(), &bytes);
        }
        if !path.exists() {
            return Err(Error::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
        }
        let mut resolve = Resolve::default();
        let pushed = resolve.push_path(path);
        let (package, _) = pushed.map_err(|e| invalid(&resolve, e))?;
        Ok(Wit { resolve, package })
    }

    /// Parses one WIT file's text; `name` is used in error messages.
    pub fn from_str(name: &str, text: &str) -> Result<Wit, Error> {
        let mut resolve = Resolve::default();
        let pushed = resolve.push_str(name, text);
        let package = pushed.map_err(|e| invalid(&resolve, e))?;
        Ok(Wit { resolve, package })
    }

    /// Decodes the WIT embedded in a compiled component (its world, in the package
    /// `root:component`) or a wasm-encoded WIT package.
    pub fn from_component(name: &str, bytes: &[u8]) -> Result<Wit, Error> {
        // The preamble: magic, then version and layer; layer 1 is a component, 0 a core module.
        if !bytes.starts_with(b"\0asm") || bytes.get(6..8) != Some(&[1, 0]) {
            return Err(Error::NotComponent {
                path: name.to_owned(),
                reason: "it does not start with the component preamble (a core module has no WIT; build it into a component first)".to_owned(),
            });
        }
        let decoded = wit_component::decode(bytes).map_err(|e| Error::NotComponent {
            path: name.to_owned(),
            reason: format!("{e:#}"),
        })?;
        let package = decoded.package();
        Ok(Wit {
            resolve: decoded.resolve().clone(),
            package,
        })
    }

    /// The resolved WIT.
    pub fn resolve(&self) -> &Resolve {
        &self.resolve
    }

    /// The package that was loaded (for a component, `root:component`).
    pub fn package(&self) -> PackageId {
        self.package
    }

    /// Finds an interface or world: by plain name in the loaded package, or by qualified name
    /// (`ns:pkg/name`, with or without `@version`) anywhere in the resolved WIT.
    pub fn find(&self, name: &str) -> Result<Item, Error> {
        let pkg = &self.resolve.packages[self.package];
        if let Some(id) = pkg.interfaces.get(name) {
            return Ok(Item::Interface(*id));
        }
        if let Some(id) = pkg.worlds.get(name) {
            return Ok(Item::World(*id));
        }
        let mut found = Vec::new();
        for (id, iface) in self.resolve.interfaces.iter() {
            if let (Some(n), Some(p)) = (&iface.name, iface.package)
                && matches(&self.resolve, p, n, name)
            {
                found.push(Item::Interface(id));
            }
        }
        for (id, world) in self.resolve.worlds.iter() {
            if let Some(p) = world.package
                && matches(&self.resolve, p, &world.name, name)
            {
                found.push(Item::World(id));
            }
        }
        if let [one] = found[..] {
            return Ok(one);
        }
        let mut names: Vec<String> = pkg
            .interfaces
            .keys()
            .chain(pkg.worlds.keys())
            .cloned()
            .collect();
        for (id, iface) in self.resolve.interfaces.iter() {
            if iface.package != Some(self.package)
                && let Some(q) = self.resolve.id_of(id)
            {
                names.push(q);
            }
        }
        let available = if found.len() > 1 {
            "several match; give the full name with its `@version`".to_owned()
        } else if names.is_empty() {
            "the WIT has no interfaces or worlds".to_owned()
        } else {
            format!(
                "there are: {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(Error::NoSuchItem {
            name: name.to_owned(),
            available,
        })
    }

    /// The canonical form of an item.
    pub fn form(&self, item: Item) -> Value {
        match item {
            Item::Package(id) => form::package_form(&self.resolve, id),
            Item::Interface(id) => form::interface_form(&self.resolve, id),
            Item::World(id) => form::world_form(&self.resolve, id),
        }
    }

    /// The canonical id of an item.
    pub fn id(&self, item: Item) -> Digest {
        crate::digest_of(&self.form(item))
    }
}

/// Whether `name` is `ns:pkg/item` or `ns:pkg/item@version` for this item.
fn matches(resolve: &Resolve, pkg: PackageId, item: &str, name: &str) -> bool {
    let p = &resolve.packages[pkg].name;
    let bare = format!("{}:{}/{item}", p.namespace, p.name);
    match &p.version {
        Some(v) => name == bare || name == format!("{bare}@{v}"),
        None => name == bare,
    }
}

/// The error with its source context (`file:line:col` and a snippet), as wit-parser renders it.
fn invalid(resolve: &Resolve, e: anyhow::Error) -> Error {
    Error::Invalid(resolve.render_error(&e))
}
