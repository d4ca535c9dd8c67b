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

    /// Whether only this user can change what the store holds: the store's folder, `blobs/`,
    /// `blobs/sha256/`, `keys/` and each `keys/<kind>/` that exist are owned by this process's
    /// effective user and writable by no one else. Code that must run only what a signature
    /// covers takes compiled code from the store only then (blobs are checked against their
    /// digest on every read, but a key's pointer could be redirected by whoever can write it).
    pub fn is_private(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        let private = |p: &Path| match std::fs::symlink_metadata(p) {
            Ok(m) => m.is_dir() && m.uid() == me && m.mode() & 0o022 == 0,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        let mut dirs = vec![
            self.root.clone(),
            self.root.join("blobs"),
            self.root.join("blobs/sha256"),
            self.root.join("keys"),
        ];
        if let Ok(kinds) = std::fs::read_dir(self.root.join("keys")) {
            dirs.extend(kinds.flatten().map(|e| e.path()));
        }
        self.root.exists() && dirs.iter().all(|d| private(d))
    }

    /// This store, if it is private ([`BlobStore::is_private`]) now: what code that may trust
    /// only what this user wrote takes (a verification cache, compiled code run under a
    /// signature requirement). Asked once, the answer serves the whole command.
    pub fn private(&self) -> Option<Private<'_>> {
        self.is_private().then_some(Private(self))
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
        self.prepare_known(bytes, digest)?
            .map_or(Ok(()), Prepared::commit)
    }

    /// [`BlobStore::put_known`] in two steps: the entry written to a temporary file now, put
    /// in place by [`Prepared::commit`] (dropping it instead removes it). `None` when the
    /// store holds exactly these bytes already. For bytes that may only be stored once
    /// checked, written while they are checked.
    pub fn prepare_known(
        &self,
        bytes: &[u8],
        digest: &Digest,
    ) -> std::io::Result<Option<Prepared>> {
        let path = self.blob_path(digest);
        if holds_exactly(&path, bytes) {
            return Ok(None);
        }
        std::fs::create_dir_all(folder_of(&path))?;
        let tmp = write_temporary(&path, bytes, Access::Private)?;
        Ok(Some(Prepared { tmp, path }))
    }

    /// The bytes with this digest, if stored and intact. A blob whose bytes no longer match
    /// its digest is deleted and reported as absent.
    pub fn get(&self, digest: &Digest) -> Option<Vec<u8>> {
        self.get_into(digest, |len| Some(vec![0; len]))
    }

    /// [`BlobStore::get`] into memory the caller provides: `buffer(len)` returns room for
    /// exactly the blob's `len` bytes (or `None` to give up), which is filled, checked against
    /// the digest and returned. For code that needs the bytes in memory of its own kind
    /// (page-aligned, say) without copying them once more.
    pub fn get_into<B: AsMut<[u8]> + AsRef<[u8]>>(
        &self,
        digest: &Digest,
        buffer: impl FnOnce(usize) -> Option<B>,
    ) -> Option<B> {
        use std::io::Read;
        let path = self.blob_path(digest);
        let mut file = std::fs::File::open(&path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let mut bytes = buffer(len)?;
        if bytes.as_ref().len() != len {
            return None;
        }
        file.read_exact(bytes.as_mut()).ok()?;
        // Nothing past the length read (a file that grew meanwhile is not this blob).
        let intact = file.read(&mut [0]).ok()? == 0 && Digest::of(bytes.as_ref()) == *digest;
        if !intact {
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
        std::fs::create_dir_all(folder_of(&path))?;
        replace(
            write_temporary(&path, text.as_bytes(), Access::Private)?,
            &path,
        )
    }

    /// The intact blob `key` of `kind` points at.
    pub fn get_key(&self, kind: &str, key: &Digest) -> Option<(Digest, Vec<u8>)> {
        self.get_key_into(kind, key, |len| Some(vec![0; len]))
    }

    /// [`BlobStore::get_key`] into memory the caller provides (see [`BlobStore::get_into`]).
    pub fn get_key_into<B: AsMut<[u8]> + AsRef<[u8]>>(
        &self,
        kind: &str,
        key: &Digest,
        buffer: impl FnOnce(usize) -> Option<B>,
    ) -> Option<(Digest, B)> {
        let text = std::fs::read_to_string(self.key_path(kind, key)).ok()?;
        let digest: Digest = text.trim().parse().ok()?;
        let bytes = self.get_into(&digest, buffer)?;
        Some((digest, bytes))
    }
}

/// A store found private when this was made ([`BlobStore::private`]).
#[derive(Clone, Copy, Debug)]
pub struct Private<'s>(&'s BlobStore);

impl<'s> Private<'s> {
    /// The store.
    pub fn store(self) -> &'s BlobStore {
        self.0
    }
}

/// Whether the file at `path` holds exactly `bytes`. Compared a piece at a time through a
/// small buffer on the stack: reading a stored blob whole into fresh memory cost a short
/// command (a cold `emit build`, which refreshes every input and its output) a page fault per
/// 4 KiB, some 60 of them.
fn holds_exactly(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.len() == bytes.len() as u64) {
        return false;
    }
    let mut piece = [0u8; 16 * 1024];
    let mut rest = bytes;
    loop {
        match file.read(&mut piece) {
            Ok(0) => return rest.is_empty(),
            Ok(n) if n <= rest.len() && piece[..n] == rest[..n] => rest = &rest[n..],
            Ok(_) => return false, // different, or longer than `bytes`
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

fn hex(d: &Digest) -> String {
    d.to_string().trim_start_matches("sha256:").to_owned()
}

/// Writes a file atomically (never leaves a partial file) and flushed to disk: a temporary
/// file in the same folder, renamed into place. Creates the folder if needed. The file gets the
/// permissions a new file gets (read and write for all, less the umask), as compilers' outputs
/// do.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(folder_of(path))?;
    let tmp = write_temporary(path, bytes, Access::Shared)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A file's bytes, read straight into shared memory (emit's inputs, `exec run`'s component):
/// reading into a `Vec` first and then moving them into an `Arc` copies them once more, into
/// fresh memory (a page fault per 4 KiB, some 30 for a 100 KiB component, in a command of a
/// few milliseconds). A file that does not hold as many bytes as its length says (a pipe, a
/// `/proc` file, one that changes while it is read) is read to its end from the same handle,
/// and its bytes copied once more.
pub fn read_shared(path: &Path) -> std::io::Result<std::sync::Arc<[u8]>> {
    use std::io::{ErrorKind, Read};
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
    // (collected from a counted iterator: allocated once, in place)
    let mut bytes: std::sync::Arc<[u8]> = std::iter::repeat_n(0, len).collect();
    let whole = std::sync::Arc::get_mut(&mut bytes).expect("not shared yet");
    let mut filled = 0;
    let mut past = [0u8; 1];
    let over = loop {
        let into = if filled < len {
            &mut whole[filled..]
        } else {
            &mut past[..]
        };
        match file.read(into) {
            Ok(0) => break 0,
            Ok(n) if filled < len => filled += n,
            Ok(n) => break n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    if filled == len && over == 0 {
        return Ok(bytes);
    }
    let mut all = whole[..filled].to_vec();
    all.extend_from_slice(&past[..over]);
    file.read_to_end(&mut all)?;
    Ok(all.into())
}

/// Writes a file that can be made again from its inputs (a build output): atomically, so
/// readers see the old file or the whole new one, but without waiting for the disk, as
/// compilers do; after a power loss it may be empty or missing, and is rebuilt. The folder must
/// exist. The file gets the permissions a new file gets (read and write for all, less the
/// umask).
///
/// Replacing an existing file does not rename over it: on Linux it swaps the two names
/// (`renameat2` with `RENAME_EXCHANGE`) and deletes the old file. ext4 (with its default
/// `auto_da_alloc`) writes a file's data out when it replaces another by rename, to make up for
/// programs that forget `fsync`; this output does not need that, and it costs more than the
/// rest of writing it (0.1–0.2 ms for 100 KiB). Swapping is as atomic for readers as renaming.
pub fn write_rebuildable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    prepare_rebuildable(path, bytes)?.commit()
}

/// [`write_rebuildable`] in two steps: the file written to a temporary file beside `path` now,
/// put in place by [`Prepared::commit`] (dropping it instead removes it). For an output that
/// may only appear once checked, written while it is checked. The folder must exist.
pub fn prepare_rebuildable(path: &Path, bytes: &[u8]) -> std::io::Result<Prepared> {
    let tmp = write_temporary(path, bytes, Access::Shared)?;
    Ok(Prepared {
        tmp,
        path: path.to_path_buf(),
    })
}

/// A file written under a temporary name beside where it goes ([`prepare_rebuildable`],
/// [`BlobStore::prepare_known`]): [`Prepared::commit`] puts it in place; dropping it removes
/// it, leaving what was there before.
#[derive(Debug)]
pub struct Prepared {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Prepared {
    /// Where it goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the file in place, atomically, as [`write_rebuildable`] does.
    pub fn commit(self) -> std::io::Result<()> {
        replace(self.tmp, &self.path)
    }
}

/// Who may read a written file.
#[derive(Clone, Copy)]
enum Access {
    /// As any new file: read and write for all, less the umask.
    Shared,
    /// The owner only (the blob store's entries).
    Private,
}

/// Moves the finished temporary file `tmp` to `path`; see [`write_rebuildable`].
fn replace(tmp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        if renameat_with(CWD, tmp.path(), CWD, path, RenameFlags::EXCHANGE).is_ok() {
            // `tmp`'s name now holds the old file: dropping `tmp` deletes it.
            return Ok(());
        }
        // Not supported by this file system: rename, below.
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The folder `path` is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A temporary file beside `path`, holding `bytes`.
fn write_temporary(
    path: &Path,
    bytes: &[u8],
    access: Access,
) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    if let Access::Shared = access {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    #[cfg(not(unix))]
    let _ = access;
    let mut tmp = builder.tempfile_in(folder_of(path))?;
    tmp.write_all(bytes)?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::{BlobStore, write_rebuildable};

    /// The names in a folder.
    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A store only its user can change is private; one that others can write to, at any
    /// folder a pointer or blob lives in, is not.
    #[test]
    fn a_store_others_can_write_to_is_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("store"));
        assert!(
            !store.is_private(),
            "a store that does not exist holds nothing to trust"
        );
        let d = store.put(b"code").unwrap();
        store.set_key("compiled", &d, &d).unwrap();
        assert!(store.is_private());
        for sub in ["", "blobs/sha256", "keys", "keys/compiled"] {
            let p = store.root().join(sub);
            let before = std::fs::metadata(&p).unwrap().permissions();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
            assert!(!store.is_private(), "{sub} writable by all");
            assert!(store.private().is_none(), "{sub}: no proof of privacy");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o775)).unwrap();
            assert!(!store.is_private(), "{sub} writable by the group");
            std::fs::set_permissions(&p, before).unwrap();
        }
        assert!(store.is_private());
        assert_eq!(store.private().unwrap().store().root(), store.root());
    }

    #[test]
    fn rebuildable_writes_replace_files_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.wasm");
        write_rebuildable(&out, b"first").unwrap(); // a new file
        assert_eq!(std::fs::read(&out).unwrap(), b"first");
        // A reader holding the old file keeps the old bytes; the name gets the new ones, and
        // the old file (swapped under the temporary name) is gone.
        let held = std::fs::File::open(&out).unwrap();
        write_rebuildable(&out, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"second, longer");
        assert_eq!(
            std::io::read_to_string(held).unwrap(),
            "first",
            "the old file was changed in place"
        );
        write_rebuildable(&out, b"3").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"3");
        assert_eq!(names(dir.path()), ["out.wasm"]);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_ordinary_permissions_and_store_entries_private_ones() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        // What a plain new file gets under this process's umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        for write in [super::write_rebuildable, super::write_atomic] {
            let out = dir.path().join("out.wasm");
            write(&out, b"new").unwrap();
            assert_eq!(mode(&out), mode(&plain));
            write(&out, b"replaced").unwrap();
            assert_eq!(mode(&out), mode(&plain));
        }
        let store = BlobStore::new(dir.path().join("store"));
        let d = store.put(b"blob").unwrap();
        assert_eq!(mode(&store.blob_path(&d)), 0o600);
        let key = crate::Digest::of(b"key");
        store.set_key("emit", &key, &d).unwrap();
        assert_eq!(mode(&store.key_path("emit", &key)), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn rebuildable_writes_replace_a_symlink_not_its_target_and_refuse_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.wasm");
        std::fs::write(&target, b"target").unwrap();
        let link = dir.path().join("link.wasm");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_rebuildable(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert_eq!(std::fs::read(&target).unwrap(), b"target");
        // A folder in the way is an error (as renaming over it is), and is left where it is.
        let folder = dir.path().join("folder.wasm");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("inside"), b"kept").unwrap();
        assert!(write_rebuildable(&folder, b"new").is_err());
        assert_eq!(std::fs::read(folder.join("inside")).unwrap(), b"kept");
        assert_eq!(
            names(dir.path()),
            ["folder.wasm", "link.wasm", "target.wasm"]
        );
    }

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
    fn blobs_read_into_the_callers_memory_are_checked_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let d = store.put(b"compiled code").unwrap();
        let key = crate::Digest::of(b"key");
        store.set_key("exec", &key, &d).unwrap();
        // The buffer asked for is exactly the blob's length, and comes back filled.
        let mut asked = None;
        let (found, bytes) = store
            .get_key_into("exec", &key, |len| {
                asked = Some(len);
                Some(vec![0xAA; len])
            })
            .unwrap();
        assert_eq!((found, asked), (d, Some(13)));
        assert_eq!(bytes, b"compiled code");
        // A caller that gives up leaves the blob alone.
        assert!(store.get_into(&d, |_| None::<Vec<u8>>).is_none());
        assert!(store.blob_path(&d).exists());
        // A blob longer than its digest's bytes (appended to) is not returned, and is removed.
        std::fs::write(store.blob_path(&d), b"compiled code!").unwrap();
        assert!(store.get_into(&d, |len| Some(vec![0; len])).is_none());
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

    /// A prepared file is nowhere to be seen where it goes until committed, and dropping it
    /// leaves nothing behind; so for a prepared store entry.
    #[test]
    fn prepared_files_appear_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.wasm");
        std::fs::write(&out, b"old").unwrap();
        let dropped = super::prepare_rebuildable(&out, b"never").unwrap();
        assert_eq!(dropped.path(), out);
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        drop(dropped);
        assert_eq!(names(dir.path()), ["out.wasm"]);
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        let kept = super::prepare_rebuildable(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        kept.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.wasm"]);

        let store = BlobStore::new(dir.path().join("store"));
        let d = crate::Digest::of(b"checked");
        drop(store.prepare_known(b"checked", &d).unwrap().unwrap());
        assert_eq!(store.get(&d), None);
        assert!(names(&dir.path().join("store/blobs/sha256")).is_empty());
        store
            .prepare_known(b"checked", &d)
            .unwrap()
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(store.get(&d).as_deref(), Some(&b"checked"[..]));
        assert!(
            store.prepare_known(b"checked", &d).unwrap().is_none(),
            "held already"
        );
    }

    #[test]
    fn shared_reads_hold_the_files_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("component.wasm");
        let bytes: Vec<u8> = (0..70_001u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(&*super::read_shared(&path).unwrap(), &bytes[..]);
        std::fs::write(&path, b"").unwrap();
        assert!(super::read_shared(&path).unwrap().is_empty());
        // A file whose length says 0 but which holds more is read whole all the same.
        if cfg!(target_os = "linux") {
            let status = super::read_shared(std::path::Path::new("/proc/self/status")).unwrap();
            assert!(status.starts_with(b"Name:"), "{status:?}");
            // A pipe (`composectl exec run /dev/stdin`): its length says 0, and what is read to
            // find out that it holds more is kept (a pipe cannot be read again).
            use std::io::Write;
            use std::os::fd::AsRawFd;
            let (reader, mut writer) = std::io::pipe().unwrap();
            let sent = bytes.clone();
            let writing = std::thread::spawn(move || writer.write_all(&sent).unwrap());
            let fd = format!("/proc/self/fd/{}", reader.as_raw_fd());
            let piped = super::read_shared(std::path::Path::new(&fd)).unwrap();
            writing.join().unwrap();
            assert_eq!(&*piped, &bytes[..]);
        }
        assert!(super::read_shared(&dir.path().join("missing")).is_err());
    }

    /// The stored entry is compared a piece at a time: a difference in any piece, the last
    /// byte included, is found; an entry holding exactly the bytes is left as it is.
    #[test]
    fn storing_again_compares_every_piece_of_a_large_entry() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let bytes: Vec<u8> = (0..100_003u32).map(|i| (i % 251) as u8).collect();
        let d = store.put(&bytes).unwrap();
        let inode = || std::fs::metadata(store.blob_path(&d)).unwrap().ino();
        let before = inode();
        store.put(&bytes).unwrap();
        assert_eq!(inode(), before, "an intact entry is rewritten");
        for at in [0, 16 * 1024, 50_000, bytes.len() - 1] {
            let mut other = bytes.clone();
            other[at] ^= 1;
            std::fs::write(store.blob_path(&d), &other).unwrap();
            store.put(&bytes).unwrap();
            assert_eq!(
                std::fs::read(store.blob_path(&d)).unwrap(),
                bytes,
                "a difference at byte {at} is kept"
            );
        }
    }
}
