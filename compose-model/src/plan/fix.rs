//! Suggested edits to a plan, written in the syntax the plan was written in: TOML for plan
//! files (`"example:greet/greeter" = "greeter"` under `[components.user.imports]`), the
//! macro's tokens for `compose!` (`"example:greet/greeter": greeter` in
//! `components: { user: { imports: { … } } }`).
//!
//! A diagnostic's message is written with the TOML form of its fixes (plan files, `--json`);
//! [`Diagnostic::in_syntax`](super::Diagnostic::in_syntax) rewrites them for another syntax.

/// How a plan was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// A plan file (TOML), or its canonical CBOR.
    Toml,
    /// The tokens of a `compose!` invocation.
    Macro,
}

/// A value in a suggested edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixValue {
    /// A string: `"env:…"` in both syntaxes.
    Str(String),
    /// A name (a component, a need such as `required`): a string in TOML, a bare word in
    /// the macro when it is one.
    Word(String),
    /// `true` or `false`.
    Bool(bool),
    /// `[a, b]`.
    Array(Vec<FixValue>),
    /// `{ k = v }` in TOML, `{ k: v }` in the macro.
    Table(Vec<(String, FixValue)>),
}

/// What to add at [`Fix::place`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Nothing in particular: the fix only says where.
    Here,
    /// An entry `key = value`.
    Entry(String, FixValue),
    /// An item for the list under `key`.
    Item(String, FixValue),
}

/// A suggested edit: what to add and in which table of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// The table's path from the plan's root, e.g. `["components", "user", "imports"]`.
    pub place: Vec<String>,
    /// What to add there.
    pub edit: Edit,
}

impl Fix {
    /// Add `key = value` in the table at `place`.
    pub fn entry(place: &[&str], key: &str, value: FixValue) -> Fix {
        Fix {
            place: place.iter().map(|s| s.to_string()).collect(),
            edit: Edit::Entry(key.to_owned(), value),
        }
    }

    /// Add `item` to the list `key` in the table at `place`.
    pub fn item(place: &[&str], key: &str, item: FixValue) -> Fix {
        Fix {
            place: place.iter().map(|s| s.to_string()).collect(),
            edit: Edit::Item(key.to_owned(), item),
        }
    }

    /// The table at `place` itself.
    pub fn here(place: &[&str]) -> Fix {
        Fix {
            place: place.iter().map(|s| s.to_string()).collect(),
            edit: Edit::Here,
        }
    }

    /// The fix as a message says it, e.g. `` `k = "v"` under `[a.b]` ``, or for the macro
    /// `` `k: v` in `a: { b: { … } }` ``.
    pub fn render(&self, syntax: Syntax) -> String {
        let place = match syntax {
            Syntax::Toml => format!(
                "under `[{}]`",
                self.place
                    .iter()
                    .map(|k| key(k, syntax))
                    .collect::<Vec<_>>()
                    .join(".")
            ),
            Syntax::Macro => {
                let mut text = "{ … }".to_owned();
                for (i, k) in self.place.iter().enumerate().rev() {
                    text = format!("{}: {text}", key(k, syntax));
                    if i > 0 {
                        text = format!("{{ {text} }}");
                    }
                }
                format!("in `{text}`")
            }
        };
        match &self.edit {
            Edit::Here => place,
            Edit::Entry(k, v) => format!("`{}` {place}", pair(k, v, syntax)),
            Edit::Item(k, v) => {
                let list = match syntax {
                    Syntax::Toml => format!("{} = [ … ]", key(k, syntax)),
                    Syntax::Macro => format!("{}: [ … ]", key(k, syntax)),
                };
                format!("`{}` to `{list}` {place}", value(v, syntax))
            }
        }
    }
}

/// `k = v` or `k: v`.
fn pair(k: &str, v: &FixValue, syntax: Syntax) -> String {
    let sep = match syntax {
        Syntax::Toml => " = ",
        Syntax::Macro => ": ",
    };
    format!("{}{sep}{}", key(k, syntax), value(v, syntax))
}

/// A key, bare where the syntax allows it: TOML's bare keys (`A-Za-z0-9_-`); the macro's
/// words (an identifier, dashes allowed inside).
fn key(k: &str, syntax: Syntax) -> String {
    if is_bare(k, syntax) {
        k.to_owned()
    } else {
        quoted(k)
    }
}

fn is_bare(k: &str, syntax: Syntax) -> bool {
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    match syntax {
        Syntax::Toml => !k.is_empty() && k.chars().all(word_char),
        Syntax::Macro => {
            k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && !k.ends_with('-')
                && k.chars().all(word_char)
        }
    }
}

fn value(v: &FixValue, syntax: Syntax) -> String {
    match v {
        FixValue::Str(s) => quoted(s),
        FixValue::Word(w) if syntax == Syntax::Macro && is_bare(w, syntax) => w.clone(),
        FixValue::Word(w) => quoted(w),
        FixValue::Bool(b) => b.to_string(),
        FixValue::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| value(i, syntax))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        FixValue::Table(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, v)| pair(k, v, syntax))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A string literal, as both syntaxes write one (`"` and `\` escaped).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_in_both_syntaxes() {
        let f = Fix::entry(
            &["components", "user", "imports"],
            "example:greet/greeter",
            FixValue::Word("greeter".into()),
        );
        assert_eq!(
            f.render(Syntax::Toml),
            r#"`"example:greet/greeter" = "greeter"` under `[components.user.imports]`"#
        );
        assert_eq!(
            f.render(Syntax::Macro),
            r#"`"example:greet/greeter": greeter` in `components: { user: { imports: { … } } }`"#
        );
    }

    #[test]
    fn items_places_and_nested_values() {
        let f = Fix::item(&["grants"], "network", FixValue::Str("127.0.0.1:80".into()));
        assert_eq!(
            f.render(Syntax::Toml),
            r#"`"127.0.0.1:80"` to `network = [ … ]` under `[grants]`"#
        );
        assert_eq!(
            f.render(Syntax::Macro),
            r#"`"127.0.0.1:80"` to `network: [ … ]` in `grants: { … }`"#
        );
        let here = Fix::here(&["components", "my app"]);
        assert_eq!(
            here.render(Syntax::Toml),
            r#"under `[components."my app"]`"#
        );
        assert_eq!(
            here.render(Syntax::Macro),
            r#"in `components: { "my app": { … } }`"#
        );
        let signers = Fix::entry(
            &["components", "c", "trust"],
            "signers",
            FixValue::Array(vec![FixValue::Table(vec![(
                "key".into(),
                FixValue::Str("…".into()),
            )])]),
        );
        assert_eq!(
            signers.render(Syntax::Toml),
            r#"`signers = [{ key = "…" }]` under `[components.c.trust]`"#
        );
        assert_eq!(
            signers.render(Syntax::Macro),
            r#"`signers: [{ key: "…" }]` in `components: { c: { trust: { … } } }`"#
        );
        // A word that is not one in the macro's grammar is written as a string there.
        let odd = Fix::entry(&["exports"], "x", FixValue::Word("9lives".into()));
        assert_eq!(
            odd.render(Syntax::Macro),
            r#"`x: "9lives"` in `exports: { … }`"#
        );
    }
}
