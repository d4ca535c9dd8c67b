//! The audit log under attack and under crashes: every change to the file (a flipped byte, a
//! cut, a dropped, moved or added record, a rewritten record with a valid checksum) is found,
//! naming the first bad record; a torn write is recovered on reopen without cutting
//! checkpointed records; a writer killed with SIGKILL mid-append leaves a log that reopens and
//! verifies; two writers cannot share a log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use compose_audit::checkpoint::Key;
use compose_audit::{AuditError, LogWriter, Options, Record, Source, checkpoint_path, verify};
use compose_model::Code;

struct Log {
    _dir: tempfile::TempDir,
    path: PathBuf,
    skey: String,
    vkey: String,
}

fn log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = Key::generate("example.invalid/compose/audit-test").unwrap();
    Log {
        path: dir.path().join("audit.log"),
        _dir: dir,
        skey,
        vkey,
    }
}

fn record(kind: &str, n: usize) -> Record {
    Record {
        index: 0,
        time: 1_700_000_000_000 + n as u64,
        run: "run-1".into(),
        plan: format!("sha256:{}", "a".repeat(64)),
        component: Some(format!("sha256:{}", "b".repeat(64))),
        source: Source::Host,
        kind: kind.into(),
        fields: BTreeMap::from([("n".to_owned(), n.to_string())]),
    }
}

impl Log {
    fn writer(&self, batch: usize) -> LogWriter {
        let options = Options::default().batch(batch);
        LogWriter::open(&self.path, Key::parse(&self.skey).unwrap(), options)
            .unwrap()
            .0
    }

    /// A log of `n` records, flushed and checkpointed.
    fn write(&self, n: usize) {
        let w = self.writer(4);
        for i in 0..n {
            w.append(record("test.event", i)).unwrap();
        }
        w.flush().unwrap();
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }

    fn checkpoint(&self) -> Vec<u8> {
        std::fs::read(checkpoint_path(&self.path)).unwrap()
    }

    fn verify_bytes(&self, log: &[u8]) -> Result<verify::Verified, AuditError> {
        verify::verify(
            log,
            &self.checkpoint(),
            std::slice::from_ref(&self.vkey),
            None,
        )
    }

    /// The offsets of the frames in the file.
    fn frames(&self) -> Vec<(usize, usize)> {
        let bytes = self.bytes();
        let scan = compose_audit::frame::scan(&bytes);
        scan.records
            .iter()
            .map(|(at, r)| (*at, r.len() + compose_audit::frame::OVERHEAD))
            .collect()
    }
}

/// The error's code and the index it blames.
fn blame(r: Result<verify::Verified, AuditError>) -> (Code, Option<u64>) {
    let e = r.expect_err("the log must not verify");
    (e.code, e.index)
}

#[test]
fn a_written_log_verifies_with_its_records_and_proofs() {
    let l = log();
    l.write(10);
    let v = l.verify_bytes(&l.bytes()).unwrap();
    assert_eq!(v.records.len(), 10);
    assert_eq!(v.checkpoint.size, 10);
    assert_eq!(v.checkpoint.origin, "example.invalid/compose/audit-test");
    for (i, r) in v.records.iter().enumerate() {
        assert_eq!(r.index, i as u64);
        assert_eq!(r.fields["n"], i.to_string());
        let proof = v.tree.prove_record(10, i as u64);
        tlog_tiles::check_record(
            &proof,
            10,
            v.checkpoint.hash,
            i as u64,
            v.tree.leaf(i as u64),
        )
        .unwrap();
        // The proof is for this record only.
        let other = v.tree.leaf(((i + 1) % 10) as u64);
        assert!(tlog_tiles::check_record(&proof, 10, v.checkpoint.hash, i as u64, other).is_err());
    }
    // The checkpoint is a C2SP checkpoint in a signed note.
    let text = String::from_utf8(l.checkpoint()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "example.invalid/compose/audit-test");
    assert_eq!(lines[1], "10");
    assert_eq!(lines[3], "");
    assert!(
        lines[4].starts_with("— example.invalid/compose/audit-test "),
        "{text}"
    );
    // Another key does not verify it.
    let (_, other) = Key::generate("example.invalid/compose/audit-test").unwrap();
    let e = verify::verify(&l.bytes(), &l.checkpoint(), &[other], None).unwrap_err();
    assert_eq!(e.code, Code::AuditCheckpoint, "{e}");
}

#[test]
fn every_change_to_the_file_is_found_naming_the_first_bad_record() {
    let l = log();
    l.write(8);
    let good = l.bytes();
    let frames = l.frames();
    // A flipped byte inside record 5.
    let mut flipped = good.clone();
    flipped[frames[5].0 + 10] ^= 0x40;
    assert_eq!(
        blame(l.verify_bytes(&flipped)),
        (Code::AuditTampered, Some(5))
    );
    // Cut inside record 6, and at the boundary before it.
    assert_eq!(
        blame(l.verify_bytes(&good[..frames[6].0 + 3])),
        (Code::AuditTampered, Some(6))
    );
    assert_eq!(
        blame(l.verify_bytes(&good[..frames[6].0])),
        (Code::AuditTampered, Some(6))
    );
    // Record 3 dropped.
    let mut dropped = good[..frames[3].0].to_vec();
    dropped.extend_from_slice(&good[frames[4].0..]);
    assert_eq!(
        blame(l.verify_bytes(&dropped)),
        (Code::AuditTampered, Some(3))
    );
    // Records 2 and 4 swapped.
    let piece = |i: usize| &good[frames[i].0..frames[i].0 + frames[i].1];
    let mut swapped = Vec::new();
    for i in [0, 1, 4, 3, 2, 5, 6, 7] {
        swapped.extend_from_slice(piece(i));
    }
    assert_eq!(
        blame(l.verify_bytes(&swapped)),
        (Code::AuditTampered, Some(2))
    );
    // A record appended after the checkpoint (a valid frame with the next index).
    let mut extra = record("forged", 8);
    extra.index = 8;
    let mut appended = good.clone();
    appended.extend(compose_audit::frame::frame(&extra.encode()));
    assert_eq!(
        blame(l.verify_bytes(&appended)),
        (Code::AuditTampered, Some(8))
    );
    // Record 1 rewritten with a valid frame: only the tree can tell.
    let mut forged = record("test.event", 1);
    forged.index = 1;
    forged.fields.insert("n".into(), "forged".into());
    let mut rewritten = piece(0).to_vec();
    rewritten.extend(compose_audit::frame::frame(&forged.encode()));
    rewritten.extend_from_slice(&good[frames[2].0..]);
    let e = l.verify_bytes(&rewritten).unwrap_err();
    assert_eq!(e.code, Code::AuditTampered, "{e}");
    assert!(e.message.contains("do not hash to the checkpoint"), "{e}");
    // The untouched log still verifies: the checks above can pass.
    l.verify_bytes(&good).unwrap();
}

#[test]
fn a_trusted_checkpoint_finds_a_log_cut_with_its_checkpoint() {
    let l = log();
    l.write(3);
    let (old_log, old_checkpoint) = (l.bytes(), l.checkpoint());
    let w = l.writer(4);
    for i in 3..9 {
        w.append(record("test.event", i)).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let trusted = l.checkpoint();
    let keys = [l.vkey.clone()];
    // The log extends the older checkpoint.
    let v = verify::verify(&l.bytes(), &l.checkpoint(), &keys, Some(&old_checkpoint)).unwrap();
    assert_eq!(v.extends.unwrap().size, 3);
    // Cut back to 3 records together with its checkpoint: consistent alone, not with the
    // checkpoint kept outside the log.
    verify::verify(&old_log, &old_checkpoint, &keys, None).unwrap();
    let e = verify::verify(&old_log, &old_checkpoint, &keys, Some(&trusted)).unwrap_err();
    assert_eq!((e.code, e.index), (Code::AuditNotExtended, Some(3)), "{e}");
    // A log rebuilt from other records with a fresh checkpoint does not extend it either.
    let other = log();
    let other = Log {
        skey: l.skey.clone(),
        vkey: l.vkey.clone(),
        ..other
    };
    let w = other.writer(4);
    for i in 0..9 {
        w.append(record("rewritten", i)).unwrap();
    }
    drop(w);
    let e = verify::verify(&other.bytes(), &other.checkpoint(), &keys, Some(&trusted)).unwrap_err();
    assert_eq!(e.code, Code::AuditNotExtended, "{e}");
}

#[test]
fn a_torn_write_is_recovered_and_checkpointed_records_are_never_cut() {
    let l = log();
    l.write(5);
    let good = l.bytes();
    // A crash mid-write: half a frame after the checkpointed records.
    let mut torn = good.clone();
    let mut next = record("test.event", 5);
    next.index = 5;
    let frame = compose_audit::frame::frame(&next.encode());
    torn.extend_from_slice(&frame[..frame.len() / 2]);
    std::fs::write(&l.path, &torn).unwrap();
    let (w, opened) =
        LogWriter::open(&l.path, Key::parse(&l.skey).unwrap(), Options::default()).unwrap();
    assert_eq!(opened.records, 5);
    assert_eq!(opened.cut, (frame.len() / 2) as u64);
    assert_eq!(w.append(record("after", 5)).unwrap(), 5);
    w.flush().unwrap();
    drop(w);
    let v = l.verify_bytes(&l.bytes()).unwrap();
    assert_eq!(v.records[5].kind, "after");
    // Damage inside the checkpointed records: reopening refuses rather than cutting them.
    let mut damaged = l.bytes();
    let frames = l.frames();
    damaged[frames[2].0 + 9] ^= 1;
    std::fs::write(&l.path, &damaged).unwrap();
    let e = LogWriter::open(&l.path, Key::parse(&l.skey).unwrap(), Options::default()).unwrap_err();
    assert_eq!((e.code, e.index), (Code::AuditTampered, Some(2)), "{e}");
    assert_eq!(std::fs::read(&l.path).unwrap(), damaged, "nothing was cut");
}

#[test]
fn two_writers_cannot_share_a_log() {
    let l = log();
    let first = l.writer(4);
    let e = LogWriter::open(&l.path, Key::parse(&l.skey).unwrap(), Options::default()).unwrap_err();
    assert_eq!(e.code, Code::AuditLocked, "{e}");
    drop(first);
    let _second = l.writer(4);
}

/// The child half of the SIGKILL test: with `COMPOSE_AUDIT_CHILD` set, appends to that log
/// until killed. Without it, does nothing.
#[test]
fn child_appends_until_killed() {
    let Some(path) = std::env::var_os("COMPOSE_AUDIT_CHILD") else {
        return;
    };
    let skey = std::env::var("COMPOSE_AUDIT_KEY").unwrap();
    let options = Options::default().batch(3);
    let (w, _) = LogWriter::open(Path::new(&path), Key::parse(&skey).unwrap(), options).unwrap();
    std::fs::write(format!("{}.started", path.to_string_lossy()), b"").unwrap();
    let mut i = 0;
    loop {
        w.append(record("child", i)).unwrap();
        i += 1;
    }
}

#[test]
fn a_writer_killed_mid_append_leaves_a_log_that_reopens_and_verifies() {
    let l = log();
    // A first checkpoint, so that a kill before the child's first one leaves records after a
    // checkpoint (adopted on reopen), not records with none (refused).
    l.write(1);
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_appends_until_killed", "--nocapture"])
            .env("COMPOSE_AUDIT_CHILD", &l.path)
            .env("COMPOSE_AUDIT_KEY", &l.skey)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = PathBuf::from(format!("{}.started", l.path.display()));
        while !started.exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(150 + 70 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        std::fs::remove_file(&started).unwrap();
        // Reopen (recovering a torn tail), append, and the whole log verifies.
        let w = l.writer(4);
        let before = w.len();
        assert!(before > 0, "the child wrote nothing");
        w.append(record("after-kill", round as usize)).unwrap();
        w.flush().unwrap();
        drop(w);
        let v = l.verify_bytes(&l.bytes()).unwrap();
        assert_eq!(v.records.len() as u64, before + 1);
        assert_eq!(v.records.last().unwrap().kind, "after-kill");
    }
}

#[test]
fn reopening_refuses_a_log_whose_checkpoint_is_missing_forged_or_whose_frames_are_wrong() {
    let l = log();
    l.write(6);
    let good = l.bytes();
    let open = |options: Options| {
        LogWriter::open(&l.path, Key::parse(&l.skey).unwrap(), options).map(|(w, o)| {
            drop(w);
            o
        })
    };
    // A checkpoint signed by another key (a forgery over rewritten records) is refused...
    let good_checkpoint = l.checkpoint();
    let (other_skey, other_vkey) = Key::generate("example.invalid/compose/audit-test").unwrap();
    let other = Key::parse(&other_skey).unwrap();
    let tree = verify::read(&good).unwrap().1;
    std::fs::write(checkpoint_path(&l.path), other.sign(6, tree.hash(6))).unwrap();
    let e = open(Options::default()).unwrap_err();
    assert_eq!(e.code, Code::AuditCheckpoint, "{e}");
    // ...unless it is the previous key of a rotation, given as such.
    let o = open(Options::default().previous_key(other_vkey)).unwrap();
    assert_eq!((o.records, o.adopted), (6, 0));
    std::fs::write(checkpoint_path(&l.path), &good_checkpoint).unwrap();
    // Records with no checkpoint at all are not signed now.
    std::fs::remove_file(checkpoint_path(&l.path)).unwrap();
    let e = open(Options::default()).unwrap_err();
    assert_eq!(e.code, Code::AuditCheckpoint, "{e}");
    std::fs::write(checkpoint_path(&l.path), &good_checkpoint).unwrap();
    // Records after the checkpoint (written, then a crash before it was updated) are adopted.
    let mut more = good.clone();
    for i in 6..8 {
        let mut r = record("test.event", i);
        r.index = i as u64;
        more.extend(compose_audit::frame::frame(&r.encode()));
    }
    std::fs::write(&l.path, &more).unwrap();
    let o = open(Options::default()).unwrap();
    assert_eq!((o.records, o.adopted, o.cut), (8, 2, 0));
    // A wrong frame after the checkpoint, followed by another, is not a torn write: refused,
    // and nothing is cut.
    let frames = l.frames();
    let mut wrong = l.bytes();
    wrong[frames[7].0 - 3] ^= 1; // inside record 6's checksum
    std::fs::write(&l.path, &wrong).unwrap();
    let e = open(Options::default()).unwrap_err();
    assert_eq!((e.code, e.index), (Code::AuditTampered, Some(6)), "{e}");
    assert_eq!(l.bytes(), wrong, "nothing was cut");
}
