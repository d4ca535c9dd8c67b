//! Resolving the plan's component sources to bytes and digests.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use compose_model::plan::{Diagnostic, Plan, Source};
use compose_model::{Code, Digest};

use crate::EmitOptions;
use crate::guest::{BuiltGuest, build_guests_tracked};

/// A component's bytes and digest, and where they came from.
pub(crate) struct Resolved {
    pub input: Input,
    pub origin: String,
}

/// A component's bytes and their digest, computed once, when first asked for, by whichever
/// thread asks first. Shared by every component with the same source (a chain of one
/// formatter N times reads and hashes it once, and copies it never).
///
/// A cold emit needs the inputs' digests before composing only for what it checks or looks up
/// with them (a pinned digest, a signature, the cache); otherwise its helper hashes them while
/// the caller composes (`compose`), and the caller takes the digests from there afterwards.
#[derive(Clone, Debug)]
pub(crate) struct Input {
    pub bytes: Arc<[u8]>,
    digest: Arc<OnceLock<Digest>>,
}

impl Input {
    /// Bytes whose digest is yet to be computed.
    pub(crate) fn new(bytes: Arc<[u8]>) -> Self {
        Self {
            bytes,
            digest: Arc::default(),
        }
    }

    /// Bytes whose digest is known (a blob store entry, checked against it when read).
    fn hashed(bytes: Arc<[u8]>, digest: Digest) -> Self {
        Self {
            bytes,
            digest: Arc::new(OnceLock::from(digest)),
        }
    }

    /// The digest of the bytes, computed here unless some thread has done it already (or is
    /// doing it: then this waits for its result).
    pub(crate) fn digest(&self) -> Digest {
        *self.digest.get_or_init(|| Digest::of(&self.bytes))
    }

    /// Whether `other` holds the same bytes: the same read, or as many bytes with the same
    /// digest (so bytes of different lengths are told apart without hashing them).
    pub(crate) fn same_bytes(&self, other: &Input) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes)
            || (self.bytes.len() == other.bytes.len() && self.digest() == other.digest())
    }
}

fn at(name: &str, field: &str) -> String {
    format!("components.{name}.{field}")
}

/// Resolves every component; problems are pushed to `diags`, and every file read (component
/// files, guest sources and manifests) to `files`.
pub(crate) fn resolve_all(
    plan: &Plan,
    base: &Path,
    options: &EmitOptions,
    diags: &mut Vec<Diagnostic>,
    files: &mut Vec<PathBuf>,
) -> BTreeMap<String, Resolved> {
    let mut out = BTreeMap::new();
    // Each crate once, however many components it is the source of.
    let crates: Vec<&str> = plan
        .components
        .values()
        .filter_map(|c| match &c.source {
            Source::Crate(name) => Some(name.as_str()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let built = if crates.is_empty() {
        Ok(BTreeMap::new())
    } else {
        build_crates(plan, base, &crates, options)
    };
    let mut first_crate: Option<&str> = None;
    let mut seen = HashMap::new();
    for (name, c) in &plan.components {
        let (input, origin) = match &c.source {
            Source::Path(p) => {
                let path = base.join(p);
                files.push(path.clone());
                match read_once(&mut seen, &path) {
                    Ok(b) => (b, path.display().to_string()),
                    Err(e) => {
                        diags.push(Diagnostic::new(
                            Code::EmitSourceNotFound,
                            at(name, "path"),
                            format!("component `{name}`: cannot read `{}`: {e}; fix the path (it is relative to the plan file)", path.display()),
                        ));
                        continue;
                    }
                }
            }
            Source::Crate(krate) => match &built {
                Ok(guests) => match guests.get(krate).map(|g| {
                    files.extend(g.inputs.iter().cloned());
                    (read_once(&mut seen, &g.wasm), &g.wasm)
                }) {
                    Some((Ok(b), p)) => (b, p.display().to_string()),
                    Some((Err(e), p)) => {
                        diags.push(Diagnostic::new(
                            Code::EmitSourceNotFound,
                            at(name, "crate"),
                            format!(
                                "component `{name}`: cannot read the built `{}`: {e}",
                                p.display()
                            ),
                        ));
                        continue;
                    }
                    None => continue, // build_guests reports every crate it could not build
                },
                Err((code, message)) => {
                    // One build for all crates: its failure (cargo's output) is told once, at
                    // the first component built from a crate.
                    let text = match first_crate {
                        Some(first) => {
                            format!("component `{name}`: not built (see the error for `{first}`)")
                        }
                        None => format!("component `{name}`: {message}"),
                    };
                    first_crate.get_or_insert(name.as_str());
                    diags.push(Diagnostic::new(*code, at(name, "crate"), text));
                    continue;
                }
            },
            Source::Blob(d) => match options.cache.as_ref().and_then(|s| s.get(d)) {
                Some(b) => (Input::hashed(b.into(), *d), d.to_string()),
                None => {
                    diags.push(Diagnostic::new(
                        Code::EmitSourceNotFound,
                        at(name, "blob"),
                        format!("component `{name}`: blob `{d}` is not in the blob store; add it (a valid emit stores every input it composes) or use `path`"),
                    ));
                    continue;
                }
            },
            Source::Oci(r) => {
                diags.push(Diagnostic::new(
                    Code::EmitUnsupportedSource,
                    at(name, "oci"),
                    format!("component `{name}`: `{r}` is an OCI reference, and this build has no OCI client yet; pull it and use `path` or `blob`"),
                ));
                continue;
            }
            other => {
                diags.push(Diagnostic::new(
                    Code::EmitUnsupportedSource,
                    at(name, other.kind()),
                    format!(
                        "component `{name}`: `{}` sources are not supported by this build",
                        other.kind()
                    ),
                ));
                continue;
            }
        };
        if let Some(pinned) = c.digest
            && pinned != input.digest()
        {
            let digest = input.digest();
            diags.push(
                Diagnostic::new(
                    Code::EmitDigestMismatch,
                    at(name, "digest"),
                    format!("component `{name}` from `{origin}` has digest `{digest}`, but the plan pins `{pinned}`; the bytes changed, so check where they come from, then update `digest`"),
                ),
            );
            continue;
        }
        out.insert(name.clone(), Resolved { input, origin });
    }
    out
}

/// Each distinct input once (by [`Input::same_bytes`]), in the order first met.
pub(crate) fn distinct<'a>(inputs: impl IntoIterator<Item = &'a Input>) -> Vec<Input> {
    let mut distinct: Vec<Input> = Vec::new();
    for input in inputs {
        if !distinct.iter().any(|d| d.same_bytes(input)) {
            distinct.push(input.clone());
        }
    }
    distinct
}

/// A file's bytes, read once however many components it is the source of (a chain of one
/// formatter many times), and hashed once, when first needed ([`Input`]).
fn read_once(seen: &mut HashMap<PathBuf, Input>, path: &Path) -> std::io::Result<Input> {
    if let Some(input) = seen.get(path) {
        return Ok(input.clone());
    }
    let input = Input::new(compose_model::blobs::read_shared(path)?);
    seen.insert(path.to_path_buf(), input.clone());
    Ok(input)
}

/// Builds the crates the plan names, once, from the plan's Cargo workspace.
fn build_crates(
    plan: &Plan,
    base: &Path,
    crates: &[&str],
    options: &EmitOptions,
) -> Result<BTreeMap<String, BuiltGuest>, (Code, String)> {
    // The caller's workspace, else the plan's own (relative to the plan), else the nearest.
    let given = options
        .workspace
        .clone()
        .or_else(|| plan.workspace.as_ref().map(|w| base.join(w)));
    let manifest = match given {
        Some(w) if w.is_dir() => w.join("Cargo.toml"),
        Some(w) => w,
        None => {
            // The plan's folder, absolute: a plan named without a folder (`compose.toml`) has
            // an empty one, and the search must still go up from the current directory.
            let here = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            };
            let from = std::path::absolute(here).unwrap_or_else(|_| here.to_path_buf());
            nearest_manifest(&from).ok_or_else(|| {
                (
                    Code::EmitSourceNotFound,
                    format!(
                        "no Cargo.toml in `{}` or any folder above it to find `crate` sources in; pass the guest workspace (`--workspace DIR`, `workspace = \"…\"` in `compose!`, `Config::workspace` in a build script)",
                        from.display()
                    ),
                )
            })?
        }
    };
    let target = match &options.guest_target_dir {
        Some(t) => t.clone(),
        None => manifest.parent().unwrap_or(Path::new(".")).join("target"),
    };
    build_guests_tracked(&manifest, crates, &target).map_err(|e| (e.code(), e.to_string()))
}

fn nearest_manifest(dir: &Path) -> Option<PathBuf> {
    let mut d = Some(dir);
    while let Some(x) = d {
        let m = x.join("Cargo.toml");
        if m.is_file() {
            return Some(m);
        }
        d = x.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use compose_model::Digest;

    use super::Input;

    /// Inputs are the same by their bytes, whichever read they come from; bytes of different
    /// lengths are told apart without being hashed, and a digest is computed once, right.
    #[test]
    fn inputs_are_the_same_by_their_bytes() {
        let bytes: Arc<[u8]> = Arc::from(&b"\0asm component"[..]);
        let one = Input::new(Arc::clone(&bytes));
        let again = one.clone();
        let copy = Input::new(Arc::from(&b"\0asm component"[..]));
        let other = Input::new(Arc::from(&b"\0asm c0mponent"[..]));
        let longer = Input::new(Arc::from(&b"\0asm component!"[..]));

        assert!(one.same_bytes(&again), "the same read");
        assert!(!one.same_bytes(&longer));
        assert!(
            one.digest.get().is_none() && longer.digest.get().is_none(),
            "told apart by length alone"
        );
        assert!(one.same_bytes(&copy), "equal bytes, read twice");
        assert!(!one.same_bytes(&other), "as long, other bytes");
        assert_eq!(one.digest(), Digest::of(&bytes));
        assert_eq!(again.digest.get(), Some(&Digest::of(&bytes)), "shared");
        let known = Input::hashed(Arc::clone(&bytes), Digest::of(b"stored as"));
        assert_eq!(
            known.digest(),
            Digest::of(b"stored as"),
            "a digest given (the store checks it when reading) is not computed again"
        );
    }
}
