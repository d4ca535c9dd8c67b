//! A content-addressed blob store on disk (shared by emit and exec): blobs by `sha256`, and named keys pointing at blobs.
//! Every read checks the blob's digest; a corrupt entry is reported as missing and removed.

use std::path::{Path, PathBuf};

use crate::Digest;

/// A blob store rooted at a folder:
/// `blobs/sha256/<hex>` holds bytes, `keys/<kind>/<hex>` holds the digest of a blob.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// A store at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore { root: root.into() }
    }

    /// The default store: `$COMPOSE_CACHE_DIR`, else `$XDG_CACHE_HOME/compose`, else
    /// `~/.cache/compose`.
    pub fn default_location() -> Option<BlobStore> {
        if let Some(dir) = std::env::var_os("COMPOSE_CACHE_DIR") {
            return Some(BlobStore::new(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(BlobStore::new(PathBuf::from(dir).join("compose")));
        }
        std::env::var_os("HOME").map(|h| BlobStore::new(PathBuf::from(h).join(".cache/compose")))
    }

    /// The folder of the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(hex(digest))
    }

    fn key_path(&self, kind: &str, key: &Digest) -> PathBuf {
        self.root.join("keys").join(kind).join(hex(key))
    }

    /// Stores bytes and returns their digest.
    ///
    /// Entries are written by rename but not flushed to disk: every read re-checks the digest,
    /// so an entry torn by a crash is detected and rebuilt, and the cache stays cheap.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<Digest> {
        let digest = Digest::of(bytes);
        self.put_known(bytes, &digest)?;
        Ok(digest)
    }

    /// Stores bytes whose digest the caller has just computed from these very bytes (so it
    /// is not computed again). An entry already stored is kept only if it holds exactly these
    /// bytes (compared, not re-hashed); anything else there is replaced.
    pub fn put_known(&self, bytes: &[u8], digest: &Digest) -> std::io::Result<()> {
        let path = self.blob_path(digest);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64)
            && std::fs::read(&path).is_ok_and(|stored| stored == bytes)
        {
            return Ok(());
        }
        write_renamed(&path, bytes, false)
    }

    /// The bytes with this digest, if stored and intact. A blob whose bytes no longer match
    /// its digest is deleted and reported as absent.
    pub fn get(&self, digest: &Digest) -> Option<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if Digest::of(&bytes) != *digest {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(bytes)
    }

    /// Points `key` of `kind` (e.g. `emit`) at the blob `digest`.
    pub fn set_key(&self, kind: &str, key: &Digest, digest: &Digest) -> std::io::Result<()> {
        let path = self.key_path(kind, key);
        let text = digest.to_string();
        if std::fs::read(&path).is_ok_and(|stored| stored == text.as_bytes()) {
            return Ok(()); // already points there
        }
        write_renamed(&path, text.as_bytes(), false)
    }

    /// The intact blob `key` of `kind` points at.
    pub fn get_key(&self, kind: &str, key: &Digest) -> Option<(Digest, Vec<u8>)> {
        let text = std::fs::read_to_string(self.key_path(kind, key)).ok()?;
        let digest: Digest = text.trim().parse().ok()?;
        let bytes = self.get(&digest)?;
        Some((digest, bytes))
    }
}

fn hex(d: &Digest) -> String {
    d.to_string().trim_start_matches("sha256:").to_owned()
}

/// Writes a file atomically (never leaves a partial file): a temporary file in the same folder, renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_renamed(path, bytes, true)
}

/// Writes to a temporary file in the same folder and renames it into place, so readers see the
/// old file or the whole new one; `sync` also flushes it to disk first.
fn write_renamed(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::BlobStore;

    #[test]
    fn corrupt_blobs_are_never_returned() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let d = store.put(b"component bytes").unwrap();
        assert_eq!(store.get(&d).as_deref(), Some(&b"component bytes"[..]));
        let key = crate::Digest::of(b"key");
        store.set_key("emit", &key, &d).unwrap();
        assert_eq!(store.get_key("emit", &key).unwrap().0, d);
        // Flip the stored bytes: the entry is detected, removed, and reported absent.
        std::fs::write(store.blob_path(&d), b"component bytez").unwrap();
        assert_eq!(store.get_key("emit", &key), None);
        assert!(!store.blob_path(&d).exists());
    }

    #[test]
    fn storing_again_repairs_an_entry_with_other_bytes_of_the_same_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let d = store.put(b"component bytes").unwrap();
        std::fs::write(store.blob_path(&d), b"component bytez").unwrap();
        // The same length is not taken for the same bytes: the entry is rewritten.
        assert_eq!(store.put(b"component bytes").unwrap(), d);
        assert_eq!(store.get(&d).as_deref(), Some(&b"component bytes"[..]));
        // A key rewritten to the digest it already holds stays as it is.
        let key = crate::Digest::of(b"key");
        store.set_key("emit", &key, &d).unwrap();
        store.set_key("emit", &key, &d).unwrap();
        assert_eq!(store.get_key("emit", &key).unwrap().0, d);
    }
}
