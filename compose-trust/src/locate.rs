//! Where an artifact's bundles are: beside it (`X.wasm.sigstore.json`), and in the blob store
//! under its digest (`<store>/sigstore/<hex>/*.sigstore.json`, several for key rotation or a
//! threshold).

use std::path::{Path, PathBuf};

use compose_model::Digest;
use compose_model::blobs::BlobStore;

use crate::BUNDLE_SUFFIX;
use crate::verify::BundleFile;

/// The bundle file beside `artifact`.
pub fn beside(artifact: &Path) -> PathBuf {
    PathBuf::from(format!("{}{BUNDLE_SUFFIX}", artifact.display()))
}

/// The folder of the store's bundles for `digest`.
pub fn in_store(store: &BlobStore, digest: &Digest) -> PathBuf {
    store.root().join("sigstore").join(digest.hex())
}

/// The bundles found for an artifact, and a description of where they were looked for.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Found {
    /// The bundles, in a stable order.
    pub bundles: Vec<BundleFile>,
    /// Where they were looked for, for messages.
    pub searched: Vec<String>,
}

impl Found {
    /// Adds the bundle at `path` if it exists.
    pub fn file(&mut self, path: &Path) -> &mut Found {
        self.searched.push(format!("`{}`", path.display()));
        if let Ok(json) = std::fs::read(path) {
            self.bundles.push(BundleFile {
                origin: path.display().to_string(),
                json,
            });
        }
        self
    }

    /// Adds the store's bundles for `digest`.
    pub fn store(&mut self, store: &BlobStore, digest: &Digest) -> &mut Found {
        let dir = in_store(store, digest);
        self.searched.push(format!("`{}/`", dir.display()));
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(BUNDLE_SUFFIX))
            .collect();
        paths.sort();
        for p in paths {
            if let Ok(json) = std::fs::read(&p) {
                self.bundles.push(BundleFile {
                    origin: p.display().to_string(),
                    json,
                });
            }
        }
        self
    }

    /// Where bundles were looked for, as one phrase.
    pub fn searched(&self) -> String {
        if self.searched.is_empty() {
            "nowhere: no bundle was given".to_owned()
        } else {
            format!("looked in {}", self.searched.join(" and "))
        }
    }
}
