//! How to emit: where crates come from and are built, and the blob store for `blob` sources
//! and cached results.

use std::path::PathBuf;

use compose_model::blobs::BlobStore;

/// How to emit. `Default` builds crates from the plan's nearest Cargo workspace into its
/// `target/`, and uses no cache.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EmitOptions {
    /// The Cargo workspace (folder or `Cargo.toml`) that `crate` sources come from; default: the
    /// nearest `Cargo.toml` above the plan.
    pub workspace: Option<PathBuf>,
    /// Where guest crates are built; default: the workspace's `target/`.
    pub guest_target_dir: Option<PathBuf>,
    /// The blob store for `blob` sources and for cached results.
    pub cache: Option<BlobStore>,
    /// Whether a cached result may be returned (results are stored either way).
    pub use_cache: bool,
    /// A Sigstore `trusted_root.json` for keyless signatures on inputs; without it, keyless
    /// bundles are refused (`E0707`): there is no built-in root.
    pub trusted_root: Option<PathBuf>,
    /// Whether to decode every input's WIT for a provenance statement
    /// ([`crate::Emitted::interfaces`], [`crate::provenance::statement`]).
    pub provenance: bool,
}

impl EmitOptions {
    /// Sets the workspace crates come from.
    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workspace = Some(dir.into());
        self
    }

    /// Sets where guest crates are built.
    pub fn guest_target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.guest_target_dir = Some(dir.into());
        self
    }

    /// Verifies keyless signatures against this `trusted_root.json`.
    pub fn trusted_root(mut self, path: impl Into<PathBuf>) -> Self {
        self.trusted_root = Some(path.into());
        self
    }

    /// Records what a provenance statement names ([`crate::provenance`]).
    pub fn provenance(mut self, on: bool) -> Self {
        self.provenance = on;
        self
    }

    /// Uses a blob store, and returns cached results from it when `use_cache`.
    pub fn cache(mut self, store: BlobStore, use_cache: bool) -> Self {
        self.cache = Some(store);
        self.use_cache = use_cache;
        self
    }
}
