//! Name rules (components, tokens, interfaces, references) and "did you mean" hints.

/// Whether `s` is a kebab-case name: lowercase ASCII words of letters and digits joined by
/// single hyphens, starting with a letter (`greeter`, `http-router2`).
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && s.as_bytes()[0].is_ascii_lowercase()
}

/// Whether `s` is a WIT interface name: `namespace:package/interface`, optionally
/// `@version`, each part kebab-case (`wasi:cli/run@0.2.0`, `example:greet/greeter`).
pub fn is_interface(s: &str) -> bool {
    let (name, version) = match s.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (s, None),
    };
    let Some((package, iface)) = name.split_once('/') else {
        return false;
    };
    let Some((ns, pkg)) = package.split_once(':') else {
        return false;
    };
    is_kebab(ns)
        && pkg.split(':').all(is_kebab)
        && is_kebab(iface)
        && version.is_none_or(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'+')
        })
}

/// Whether `s` is an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The candidate closest to `name`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Appends `.key` (or `."key"` when the key is not bare) to a plan path.
pub fn join(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let mut joined = String::with_capacity(path.len() + key.len() + 3);
    if !path.is_empty() {
        joined.push_str(path);
        joined.push('.');
    }
    if bare {
        joined.push_str(key);
    } else {
        use std::fmt::Write;
        let _ = write!(joined, "{key:?}");
    }
    joined
}

/// Appends `[index]` to a plan path.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_kebab("greeter"));
        assert!(is_kebab("http-router2"));
        assert!(!is_kebab("Greeter"));
        assert!(!is_kebab("a--b"));
        assert!(!is_kebab("-a"));
        assert!(!is_kebab("2a"));
        assert!(is_interface("wasi:cli/run@0.2.0"));
        assert!(is_interface("example:greet/greeter"));
        assert!(!is_interface("greeter"));
        assert!(!is_interface("example:greet"));
        assert!(!is_interface("example:greet/greeter@"));
        assert!(is_env_name("HOME"));
        assert!(!is_env_name("1X"));
        assert_eq!(did_you_mean("greter", ["greeter", "app"]), Some("greeter"));
        assert_eq!(did_you_mean("zzz", ["greeter", "app"]), None);
        assert_eq!(join("components", "app"), "components.app");
        assert_eq!(join("imports", "a:b/c"), "imports.\"a:b/c\"");
    }
}
