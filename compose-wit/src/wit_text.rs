//! Canonical forms written back as WIT, for messages: a function's form as
//! `greet: func(name: string) -> string`, a type's as `record point { x: u32, y: u32 }`.
//!
//! Only what a message needs: a form this does not know how to write gives `None`, and the
//! caller shows the form itself. Named types are written by their plain name (`point`, not
//! `example:geo/types@1.0.0#point`), as a `use` would bring them into scope.

use compose_model::cbor::Value;

/// The WIT declaration of function `name` from its form, e.g.
/// `greet: func(name: string) -> string`. A method's `self` is left out, as WIT writes it.
pub fn function(name: &str, form: &Value) -> Option<String> {
    let kind = text(field(form, "kind")?)?;
    let params = match field(form, "params")? {
        Value::Array(ps) => ps,
        _ => return None,
    };
    let skip_self = matches!(
        kind,
        "method" | "async-method" | "method-getter" | "method-setter"
    );
    let params = params
        .iter()
        .skip(usize::from(skip_self))
        .map(|p| match p {
            Value::Array(pair) if pair.len() == 2 => {
                Some(format!("{}: {}", text(&pair[0])?, ty(&pair[1])?))
            }
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?
        .join(", ");
    let result = match field(form, "result")? {
        Value::Null => String::new(),
        r => format!(" -> {}", ty(r)?),
    };
    // Resource functions are named `[method]res.name`, `[static]res.name`, `[constructor]res`.
    let plain = name.rsplit(['.', ']']).next().unwrap_or(name);
    let prefix = match kind {
        "freestanding" | "method" => "func",
        "async-freestanding" | "async-method" => "async func",
        "static" => "static func",
        "async-static" => "static async func",
        "constructor" => return Some(format!("constructor({params})")),
        _ => return None,
    };
    Some(format!("{plain}: {prefix}({params}){result}"))
}

/// The WIT declaration of type `name` from its definition form, e.g.
/// `record point { x: u32, y: u32 }` or `type id = u64`.
pub fn definition(name: &str, form: &Value) -> Option<String> {
    let Value::Map(m) = form else { return None };
    let [(Value::Text(key), body)] = m.as_slice() else {
        return None;
    };
    let names = |v: &Value| -> Option<String> {
        match v {
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| text(i).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?
                    .join(", "),
            ),
            _ => None,
        }
    };
    let pairs = |v: &Value, sep: &str| -> Option<String> {
        match v {
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| match i {
                        Value::Array(p) if p.len() == 2 => match &p[1] {
                            Value::Null => text(&p[0]).map(str::to_owned),
                            t if sep == "(" => Some(format!("{}({})", text(&p[0])?, ty(t)?)),
                            t => Some(format!("{}: {}", text(&p[0])?, ty(t)?)),
                        },
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?
                    .join(", "),
            ),
            _ => None,
        }
    };
    Some(match key.as_str() {
        "record" => format!("record {name} {{ {} }}", pairs(body, ":")?),
        "variant" => format!("variant {name} {{ {} }}", pairs(body, "(")?),
        "enum" => format!("enum {name} {{ {} }}", names(body)?),
        "flags" => format!("flags {name} {{ {} }}", names(body)?),
        "resource" => format!("resource {name}"),
        "type" => format!("type {name} = {}", ty(body)?),
        _ => format!("type {name} = {}", ty(form)?),
    })
}

/// A type reference: a primitive's name, a named type's name, or an anonymous type.
fn ty(v: &Value) -> Option<String> {
    if let Value::Text(prim) = v {
        return Some(prim.clone());
    }
    let Value::Map(m) = v else { return None };
    let list = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::Array(items) => items.iter().map(ty_or_blank).collect(),
            _ => None,
        }
    };
    let optional = |tag: &str, v: &Value| match v {
        Value::Null => Some(tag.to_owned()),
        t => Some(format!("{tag}<{}>", ty(t)?)),
    };
    match m.as_slice() {
        [(Value::Text(k), r)] => match k.as_str() {
            "ref" => {
                let key = text(r)?;
                Some(key.rsplit('#').next().unwrap_or(key).to_owned())
            }
            "own" => ty(r),
            "borrow" => Some(format!("borrow<{}>", ty(r)?)),
            "list" => Some(format!("list<{}>", ty(r)?)),
            "option" => Some(format!("option<{}>", ty(r)?)),
            "tuple" => Some(format!("tuple<{}>", list(r)?.join(", "))),
            "map" => Some(format!("map<{}>", list(r)?.join(", "))),
            "future" => optional("future", r),
            "stream" => optional("stream", r),
            "result" => match list(r)?.as_slice() {
                [ok, err] if ok == "_" && err == "_" => Some("result".to_owned()),
                [ok, err] if err == "_" => Some(format!("result<{ok}>")),
                [ok, err] => Some(format!("result<{ok}, {err}>")),
                _ => None,
            },
            _ => None,
        },
        // `list<T, N>`: a fixed-length list.
        [(Value::Text(k), t), (Value::Text(l), Value::Unsigned(n))]
            if k == "list" && l == "length" =>
        {
            Some(format!("list<{}, {n}>", ty(t)?))
        }
        [(Value::Text(l), Value::Unsigned(n)), (Value::Text(k), t)]
            if k == "list" && l == "length" =>
        {
            Some(format!("list<{}, {n}>", ty(t)?))
        }
        _ => None,
    }
}

/// `_` for an absent type (a result without ok or error), as WIT writes it.
fn ty_or_blank(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("_".to_owned()),
        t => ty(t),
    }
}

fn field<'a>(form: &'a Value, key: &str) -> Option<&'a Value> {
    match form {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(t) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{definition, function};
    use crate::Wit;
    use compose_model::cbor::Value;

    fn section<'a>(form: &'a Value, key: &str) -> &'a [(Value, Value)] {
        match super::field(form, key) {
            Some(Value::Map(m)) => m,
            _ => panic!("no {key}"),
        }
    }

    /// Every function and type of `wit`'s interface `i`, written back as WIT.
    fn written(wit: &str) -> Vec<String> {
        let w = Wit::from_str("t.wit", wit).unwrap();
        let form = w.form(w.find("i").unwrap());
        let mut out = Vec::new();
        for (section_name, render) in [
            ("types", definition as fn(&str, &Value) -> Option<String>),
            ("functions", function),
        ] {
            for (name, f) in section(&form, section_name) {
                let Value::Text(name) = name else { panic!() };
                out.push(render(name, f).unwrap_or_else(|| panic!("{name}: not written")));
            }
        }
        out
    }

    #[test]
    fn functions_and_types_read_as_they_were_written() {
        let got = written(
            "package a:b;
             interface i {
                 record point { x: u32, y: option<string> }
                 variant shape { none, circle(u32), poly(list<point>) }
                 enum mode { fast, slow }
                 flags perms { read, write }
                 type id = u64;
                 resource counter {
                     constructor(start: u32);
                     add: func(by: u32) -> u32;
                     zero: static func() -> counter;
                 }
                 greet: func(name: string, excited: bool) -> string;
                 parse: func(s: string) -> result<tuple<u8, s64>, string>;
                 check: func(c: borrow<counter>) -> result;
                 fire: func();
             }",
        );
        for want in [
            "record point { x: u32, y: option<string> }",
            "variant shape { none, circle(u32), poly(list<point>) }",
            "enum mode { fast, slow }",
            "flags perms { read, write }",
            "type id = u64",
            "resource counter",
            "constructor(start: u32)",
            "add: func(by: u32) -> u32",
            "zero: static func() -> counter",
            "greet: func(name: string, excited: bool) -> string",
            "parse: func(s: string) -> result<tuple<u8, s64>, string>",
            "check: func(c: borrow<counter>) -> result",
            "fire: func()",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} not in {got:#?}");
        }
    }
}
