//! Whether an import can be satisfied by an export: the import's form must be part of the
//! export's. A component that imports an interface carries only the functions it calls (and
//! the types they reach), so equal ids are sufficient but not necessary.

use compose_model::cbor::Value;

use crate::wit_text;

/// Checks that every function and type of the `import` interface form appears, identical, in the
/// `export` interface form. Returns what differs first, in words, when it does not.
pub fn check_subset(import: &Value, export: &Value) -> Result<(), String> {
    for (section, what) in [
        ("functions", "function"),
        ("types", "type"),
        ("uses", "used type"),
    ] {
        let (Some(want), Some(have)) = (entries(import, section), entries(export, section)) else {
            return Err(format!("the forms have no `{section}`"));
        };
        for (name, form) in want {
            let Value::Text(name) = name else { continue };
            match lookup(have, name) {
                None => return Err(format!("the export has no {what} `{name}`")),
                Some(other) if other != form => {
                    let wit = |f: &Value| match section {
                        "functions" => wit_text::function(name, f),
                        _ => wit_text::definition(name, f),
                    };
                    return Err(match (wit(form), wit(other)) {
                        (Some(import), Some(export)) => format!(
                            "{what} `{name}` differs: the import has `{import}`, the export `{export}`"
                        ),
                        _ => format!(
                            "{what} `{name}` differs: the import has `{}`, the export `{}`",
                            shown(form),
                            shown(other)
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn entries<'a>(form: &'a Value, key: &str) -> Option<&'a [(Value, Value)]> {
    match lookup(map(form)?, key)? {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn map(v: &Value) -> Option<&[(Value, Value)]> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn lookup<'a>(m: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v)
}

/// A canonical form in CBOR diagnostic notation, for messages about forms [`wit_text`] cannot
/// write as WIT.
fn shown(form: &Value) -> String {
    compose_model::cbor::encode(form)
        .ok()
        .and_then(|b| compose_model::cbor::diagnostic(&b).ok())
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::check_subset;
    use crate::Wit;

    fn form(text: &str) -> compose_model::cbor::Value {
        let w = Wit::from_str("t.wit", text).unwrap();
        w.form(w.find("i").unwrap())
    }

    #[test]
    fn subsets_and_differences() {
        let full =
            form("package a:b; interface i { record r { x: u8 } f: func(v: r); g: func() -> u8; }");
        let part = form("package a:b; interface i { record r { x: u8 } f: func(v: r); }");
        let other = form("package a:b; interface i { record r { x: u16 } f: func(v: r); }");
        assert_eq!(check_subset(&full, &full), Ok(()));
        assert_eq!(check_subset(&part, &full), Ok(()));
        assert!(
            check_subset(&full, &part)
                .unwrap_err()
                .contains("function `g`")
        );
        assert!(
            check_subset(&other, &full)
                .unwrap_err()
                .contains("type `r` differs: the import has `record r { x: u16 }`, the export `record r { x: u8 }`")
        );
        let more = form("package a:b; interface i { f: func(v: u8, w: bool); }");
        let less = form("package a:b; interface i { f: func(v: u8); }");
        assert_eq!(
            check_subset(&less, &more).unwrap_err(),
            "function `f` differs: the import has `f: func(v: u8)`, the export `f: func(v: u8, w: bool)`"
        );
    }
}
