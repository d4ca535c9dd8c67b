//! Building canonical structural forms of interfaces, worlds and packages as CBOR values.
//!
//! Named types are referred to by key (`{"ref": key}`): their plain name inside the interface
//! or world that owns them, `ns:pkg/iface@ver#name` outside it. Types reached from another
//! interface (through `use`, at any depth) are included by definition under `uses`, so a form
//! changes exactly when something it can observe changes. Anonymous types are written inline.

use std::collections::BTreeMap;

use compose_model::cbor::Value;
use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, PackageId, Resolve, Type, TypeDefKind, TypeId,
    TypeOwner, WorldId, WorldItem, WorldKey,
};

use crate::{CANON_VERSION, digest_of};

/// The canonical form of an interface.
pub fn interface_form(resolve: &Resolve, id: InterfaceId) -> Value {
    let iface = &resolve.interfaces[id];
    let mut b = Builder::new(resolve, TypeOwner::Interface(id));
    let types = iface
        .types
        .iter()
        .map(|(name, ty)| (text(name), b.definition(*ty)))
        .collect();
    let functions = iface
        .functions
        .iter()
        .map(|(name, f)| (text(name), b.function(f)))
        .collect();
    let uses = b.finish();
    map([
        ("canon", text(CANON_VERSION)),
        ("interface", text(&interface_name(resolve, id))),
        ("types", Value::Map(types)),
        ("functions", Value::Map(functions)),
        ("uses", uses),
    ])
}

/// The canonical form of a world: its imports and exports (interfaces by id, functions and
/// types by shape).
pub fn world_form(resolve: &Resolve, id: WorldId) -> Value {
    let world = &resolve.worlds[id];
    let mut b = Builder::new(resolve, TypeOwner::World(id));
    let imports = Value::Map(
        world
            .imports
            .iter()
            .map(|(key, item)| (text(&world_key(resolve, key)), b.world_item(item)))
            .collect(),
    );
    let exports = Value::Map(
        world
            .exports
            .iter()
            .map(|(key, item)| (text(&world_key(resolve, key)), b.world_item(item)))
            .collect(),
    );
    let uses = b.finish();
    let name = match world.package {
        Some(p) => resolve.id_of_name(p, &world.name),
        None => world.name.clone(),
    };
    map([
        ("canon", text(CANON_VERSION)),
        ("world", text(&name)),
        ("imports", imports),
        ("exports", exports),
        ("uses", uses),
    ])
}

/// The canonical form of a package: its name and version and the ids of its interfaces and
/// worlds.
pub fn package_form(resolve: &Resolve, id: PackageId) -> Value {
    let pkg = &resolve.packages[id];
    let interfaces = pkg
        .interfaces
        .iter()
        .map(|(name, i)| {
            (
                text(name),
                text(&digest_of(&interface_form(resolve, *i)).to_string()),
            )
        })
        .collect();
    let worlds = pkg
        .worlds
        .iter()
        .map(|(name, w)| {
            (
                text(name),
                text(&digest_of(&world_form(resolve, *w)).to_string()),
            )
        })
        .collect();
    map([
        ("canon", text(CANON_VERSION)),
        ("package", text(&pkg.name.to_string())),
        ("interfaces", Value::Map(interfaces)),
        ("worlds", Value::Map(worlds)),
    ])
}

struct Builder<'a> {
    resolve: &'a Resolve,
    /// The interface or world whose form is being built.
    scope: TypeOwner,
    /// Definitions of named types owned elsewhere, by qualified key.
    uses: BTreeMap<String, Value>,
    /// Foreign types referenced but not yet defined in `uses`.
    pending: Vec<TypeId>,
}

impl<'a> Builder<'a> {
    fn new(resolve: &'a Resolve, scope: TypeOwner) -> Self {
        Builder {
            resolve,
            scope,
            uses: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Defines every foreign type reached so far (and what they reach) and returns `uses`.
    fn finish(mut self) -> Value {
        while let Some(id) = self.pending.pop() {
            let key = self.key(id);
            if !self.uses.contains_key(&key) {
                self.uses.insert(key.clone(), Value::Null);
                let def = self.definition(id);
                self.uses.insert(key, def);
            }
        }
        Value::Map(
            self.uses
                .into_iter()
                .map(|(k, v)| (Value::Text(k), v))
                .collect(),
        )
    }

    /// The key of a named type: plain inside its owner, qualified outside.
    fn key(&self, id: TypeId) -> String {
        let ty = &self.resolve.types[id];
        let name = ty.name.as_deref().unwrap_or("");
        if ty.owner == self.scope {
            return name.to_owned();
        }
        let owner = match ty.owner {
            TypeOwner::Interface(i) => interface_name(self.resolve, i),
            TypeOwner::World(w) => {
                let world = &self.resolve.worlds[w];
                match world.package {
                    Some(p) => self.resolve.id_of_name(p, &world.name),
                    None => world.name.clone(),
                }
            }
            TypeOwner::None => String::new(),
        };
        format!("{owner}#{name}")
    }

    /// A reference to a type: a primitive's name, `{"ref": key}` for a named type, or an
    /// anonymous type's definition inline.
    fn reference(&mut self, ty: &Type) -> Value {
        let prim = match ty {
            Type::Bool => "bool",
            Type::U8 => "u8",
            Type::U16 => "u16",
            Type::U32 => "u32",
            Type::U64 => "u64",
            Type::S8 => "s8",
            Type::S16 => "s16",
            Type::S32 => "s32",
            Type::S64 => "s64",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::Char => "char",
            Type::String => "string",
            Type::ErrorContext => "error-context",
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                if def.name.is_none() || def.owner == TypeOwner::None {
                    return self.definition(*id);
                }
                if def.owner != self.scope {
                    self.pending.push(*id);
                }
                return map([("ref", text(&self.key(*id)))]);
            }
        };
        text(prim)
    }

    fn optional(&mut self, ty: &Option<Type>) -> Value {
        match ty {
            Some(t) => self.reference(t),
            None => Value::Null,
        }
    }

    /// The structure of a type definition.
    fn definition(&mut self, id: TypeId) -> Value {
        let kind = &self.resolve.types[id].kind;
        match kind {
            TypeDefKind::Record(r) => {
                let fields = r
                    .fields
                    .iter()
                    .map(|f| Value::Array(vec![text(&f.name), self.reference(&f.ty)]))
                    .collect();
                map([("record", Value::Array(fields))])
            }
            TypeDefKind::Resource => map([("resource", Value::Bool(true))]),
            TypeDefKind::Handle(Handle::Own(r)) => map([("own", self.reference(&Type::Id(*r)))]),
            TypeDefKind::Handle(Handle::Borrow(r)) => {
                map([("borrow", self.reference(&Type::Id(*r)))])
            }
            TypeDefKind::Flags(f) => map([(
                "flags",
                Value::Array(f.flags.iter().map(|f| text(&f.name)).collect()),
            )]),
            TypeDefKind::Tuple(t) => {
                let types = t.types.iter().map(|t| self.reference(t)).collect();
                map([("tuple", Value::Array(types))])
            }
            TypeDefKind::Variant(v) => {
                let cases = v
                    .cases
                    .iter()
                    .map(|c| Value::Array(vec![text(&c.name), self.optional(&c.ty)]))
                    .collect();
                map([("variant", Value::Array(cases))])
            }
            TypeDefKind::Enum(e) => map([(
                "enum",
                Value::Array(e.cases.iter().map(|c| text(&c.name)).collect()),
            )]),
            TypeDefKind::Option(t) => map([("option", self.reference(t))]),
            TypeDefKind::Result(r) => {
                let (ok, err) = (self.optional(&r.ok), self.optional(&r.err));
                map([("result", Value::Array(vec![ok, err]))])
            }
            TypeDefKind::List(t) => map([("list", self.reference(t))]),
            TypeDefKind::Map(k, v) => {
                let (k, v) = (self.reference(k), self.reference(v));
                map([("map", Value::Array(vec![k, v]))])
            }
            TypeDefKind::FixedLengthList(t, n) => map([
                ("list", self.reference(t)),
                ("length", Value::Unsigned(u64::from(*n))),
            ]),
            TypeDefKind::Future(t) => map([("future", self.optional(t))]),
            TypeDefKind::Stream(t) => map([("stream", self.optional(t))]),
            TypeDefKind::Type(t) => map([("type", self.reference(t))]),
            TypeDefKind::Unknown => map([("unknown", Value::Null)]),
        }
    }

    /// A function's kind (and resource), parameters with their names, and result.
    fn function(&mut self, f: &Function) -> Value {
        let kind = match f.kind {
            FunctionKind::Freestanding => "freestanding",
            FunctionKind::AsyncFreestanding => "async-freestanding",
            FunctionKind::Getter => "getter",
            FunctionKind::Setter => "setter",
            FunctionKind::Method(_) => "method",
            FunctionKind::AsyncMethod(_) => "async-method",
            FunctionKind::MethodGetter(_) => "method-getter",
            FunctionKind::MethodSetter(_) => "method-setter",
            FunctionKind::Static(_) => "static",
            FunctionKind::AsyncStatic(_) => "async-static",
            FunctionKind::StaticGetter(_) => "static-getter",
            FunctionKind::StaticSetter(_) => "static-setter",
            FunctionKind::Constructor(_) => "constructor",
        };
        let resource = match f.kind.resource() {
            Some(r) => self.reference(&Type::Id(r)),
            None => Value::Null,
        };
        let params = f
            .params
            .iter()
            .map(|p| Value::Array(vec![text(&p.name), self.reference(&p.ty)]))
            .collect();
        let result = self.optional(&f.result);
        map([
            ("kind", text(kind)),
            ("resource", resource),
            ("params", Value::Array(params)),
            ("result", result),
        ])
    }

    fn world_item(&mut self, item: &WorldItem) -> Value {
        match item {
            WorldItem::Interface { id, .. } => map([(
                "interface",
                text(&digest_of(&interface_form(self.resolve, *id)).to_string()),
            )]),
            WorldItem::Function(f) => map([("function", self.function(f))]),
            WorldItem::Type { id, .. } => map([("type", self.definition(*id))]),
        }
    }
}

/// `ns:pkg/name@version`, or `(anonymous)` for an interface defined inline in a world.
fn interface_name(resolve: &Resolve, id: InterfaceId) -> String {
    resolve
        .id_of(id)
        .unwrap_or_else(|| "(anonymous)".to_owned())
}

fn world_key(resolve: &Resolve, key: &WorldKey) -> String {
    match key {
        WorldKey::Name(n) => n.clone(),
        WorldKey::Interface(i) => interface_name(resolve, *i),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (text(k), v)).collect())
}
