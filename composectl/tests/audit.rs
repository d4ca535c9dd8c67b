//! The audit log under `exec run`: the host records what it did (run start and stop, each
//! capability granted or refused, its signature check), a guest granted `audit` appends records
//! marked as its own, within limits; `audit verify`, `prove` and `show` read the log back. Every
//! promise is attacked: a plan naming a log does not run without a key, a guest cannot pass for
//! the host or exceed its limits, a changed or cut log is found naming the first bad record, a
//! second writer is refused, and a failing log stops a run that requires it.

use std::path::PathBuf;
use std::process::Output;

use compose_audit::{Key, LogWriter, Options};
use serde_json::Value;

mod common;

struct Setup {
    dir: tempfile::TempDir,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Setup {
    /// A folder with a checkpoint key (`audit.key`, `audit.key.pub`).
    fn new() -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
        };
        let o = s.run(&[
            "audit",
            "keygen",
            "-o",
            "audit.key",
            "--name",
            "test.invalid/audit",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        common::composectl_in(self.dir.path(), args)
    }

    /// A plan `NAME.toml` for the auditor writing its log to `audit.log`: `audit` requested
    /// with `need` and granted when `grant`, with `extra` in `[observability]`.
    fn plan(&self, name: &str, need: &str, grant: bool, extra: &str) -> String {
        let file = format!("{name}.toml");
        std::fs::write(
            self.path(&file),
            format!(
                r#"name = "{name}"
[components.auditor]
path = {path:?}
exports = ["wasi:cli/run"]
imports = {{ "std:audit/log" = {{ host = "audit" }} }}
capabilities = {{ stdio = "required", args = "required", audit = "{need}" }}
[exports]
"wasi:cli/run" = "auditor"
[grants]
stdio = true
args = true
audit = {grant}
[observability]
audit = "file:audit.log"
{extra}"#,
                path = common::guest("auditor").display().to_string()
            ),
        )
        .unwrap();
        file
    }

    /// `exec run PLAN --audit-key audit.key FLAGS -- ARGS`.
    fn exec(&self, plan: &str, flags: &[&str], args: &[&str]) -> Output {
        let mut all = vec!["exec", "run", plan];
        all.extend(flags);
        all.push("--");
        all.extend(args);
        self.run(&all)
    }

    fn exec_keyed(&self, plan: &str, args: &[&str]) -> Output {
        self.exec(plan, &["--audit-key", "audit.key"], args)
    }

    /// `audit verify audit.log --key audit.key.pub ARGS --json`: exit code and JSON.
    fn verify(&self, args: &[&str]) -> (Option<i32>, Value) {
        let mut all = vec![
            "audit",
            "verify",
            "audit.log",
            "--key",
            "audit.key.pub",
            "--json",
        ];
        all.extend(args);
        let o = self.run(&all);
        let json = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
        (o.status.code(), json)
    }

    /// The log's records (`audit show --json`).
    fn records(&self) -> Vec<Value> {
        let o = self.run(&["audit", "show", "audit.log", "--json"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

fn kinds(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["source"].as_str().unwrap(),
                r["kind"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_run_records_host_events_and_the_guests_own_records() {
    let s = Setup::new();
    let plan = s.plan("audited", "required", true, "");
    // A guest record named like a host event stays the guest's.
    let o = s.exec_keyed(&plan, &["append", "run.start", "order-7", "amount=12"]);
    ok(&o);
    let index: u64 = text(&o.stdout).trim().parse().unwrap();
    let records = s.records();
    let k = kinds(&records);
    assert_eq!(
        k,
        [
            "host:capability.granted",
            "host:capability.granted",
            "host:capability.granted",
            "host:run.start",
            "guest:run.start",
            "host:run.stop",
        ],
        "{records:#?}"
    );
    let guest = &records[index as usize];
    assert_eq!(guest["source"], "guest");
    assert_eq!(guest["fields"]["subject"], "order-7");
    assert_eq!(guest["fields"]["attr.amount"], "12");
    assert_eq!(guest["fields"]["outcome"], "success");
    let stop = &records[5];
    assert_eq!(stop["fields"]["outcome"], "exit 0");
    assert_eq!(stop["fields"]["guest-refused"], "0");
    // Every record names the run, the plan and the component.
    let run = &records[0]["run"];
    for r in &records {
        assert_eq!(&r["run"], run);
        assert!(r["plan"].as_str().unwrap().starts_with("sha256:"));
        assert!(r["component"].as_str().unwrap().starts_with("sha256:"));
    }
    let (code, json) = s.verify(&[]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["size"], 6);
    assert_eq!(json["guest_records"], 1);
    assert_eq!(json["origin"], "test.invalid/audit");
    // A second run appends to the same log, which still verifies.
    ok(&s.exec_keyed(&plan, &["append", "again", "x"]));
    let (code, json) = s.verify(&[]);
    assert_eq!((code, &json["size"]), (Some(0), &Value::from(12)), "{json}");
}

#[test]
fn a_plan_that_names_a_log_does_not_run_without_a_key() {
    let s = Setup::new();
    let plan = s.plan("unkeyed", "required", true, "");
    let o = s.exec(&plan, &[], &["append", "a", "b"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("E0801"), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "the guest ran: {}", text(&o.stdout));
    assert!(!s.path("audit.log").exists());
    // A key for a plan that names no log is warned about.
    std::fs::write(
        s.path("plain.toml"),
        std::fs::read_to_string(s.path(&plan))
            .unwrap()
            .replace("audit = \"file:audit.log\"", ""),
    )
    .unwrap();
    // A key for a plan that names no log would sign nothing: refused, nothing run.
    let o = s.exec_keyed("plain.toml", &["append", "a", "b"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("names none"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty(), "the guest ran: {}", text(&o.stdout));
    // A key file that is not a signed-note private key.
    let o = s.exec(
        &plan,
        &["--audit-key", "audit.key.pub"],
        &["append", "a", "b"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("E0804"), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "the guest ran: {}", text(&o.stdout));
}

#[test]
fn a_rotated_key_takes_over_a_log_only_with_the_previous_key_named() {
    let s = Setup::new();
    let plan = s.plan("rotated", "required", true, "");
    ok(&s.exec_keyed(&plan, &["append", "a", "b"]));
    ok(&s.run(&[
        "audit",
        "keygen",
        "-o",
        "new.key",
        "--name",
        "test.invalid/audit",
    ]));
    // The log's checkpoint is the old key's: the new key alone does not take it over.
    let o = s.exec(&plan, &["--audit-key", "new.key"], &["append", "c", "d"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("E0804"), "{}", text(&o.stderr));
    let flags = [
        "--audit-key",
        "new.key",
        "--audit-previous-key",
        "audit.key.pub",
    ];
    ok(&s.exec(&plan, &flags, &["append", "c", "d"]));
    // Signed by the new key now; verifiers given both keys during the rotation accept it.
    let o = s.run(&["audit", "verify", "audit.log", "--key", "new.key.pub"]);
    ok(&o);
    let o = s.run(&[
        "audit",
        "verify",
        "audit.log",
        "--key",
        "audit.key.pub",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_guest_not_granted_audit_records_nothing_and_the_refusal_is_recorded() {
    let s = Setup::new();
    let plan = s.plan("ungranted", "optional", false, "");
    let o = s.exec_keyed(&plan, &["append", "a", "b"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("Unavailable"),
        "{}",
        text(&o.stdout)
    );
    let records = s.records();
    assert!(
        records.iter().all(|r| r["source"] == "host"),
        "{records:#?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "capability.refused" && r["fields"]["capability"] == "audit")
    );
}

#[test]
fn guest_records_are_limited_and_refusals_counted() {
    let s = Setup::new();
    let plan = s.plan("limited", "required", true, "");
    let o = s.exec_keyed(&plan, &["big", "5000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("Rejected"), "{}", text(&o.stdout));
    let o = s.exec_keyed(&plan, &["many", "1003"]);
    ok(&o);
    assert_eq!(text(&o.stdout).trim(), "kept=1000 refused=3");
    let records = s.records();
    let stops: Vec<&Value> = records.iter().filter(|r| r["kind"] == "run.stop").collect();
    assert_eq!(stops[0]["fields"]["guest-refused"], "1");
    assert_eq!(stops[1]["fields"]["guest-refused"], "3");
    assert_eq!(s.verify(&[]).0, Some(0));
}

#[test]
fn show_escapes_control_characters() {
    let s = Setup::new();
    let plan = s.plan("escaped", "required", true, "");
    ok(&s.exec_keyed(&plan, &["append", "act\u{1b}[2J", "line\nbreak"]));
    let o = s.run(&["audit", "show", "audit.log"]);
    ok(&o);
    let shown = text(&o.stdout);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(shown.contains("act\\u{1b}[2J"), "{shown}");
    assert!(shown.contains("line\\nbreak"), "{shown}");
    assert_eq!(shown.lines().count(), s.records().len());
}

#[test]
fn a_changed_or_cut_log_is_found() {
    let s = Setup::new();
    let plan = s.plan("tampered", "required", true, "");
    let flags = ["--audit-key", "audit.key", "--audit-checkpoint-out", "kept"];
    ok(&s.exec(&plan, &flags, &["append", "first", "x"]));
    let first_size = s.records().len();
    ok(&s.exec(&plan, &flags, &["append", "second", "y"]));
    let good = std::fs::read(s.path("audit.log")).unwrap();
    let n = s.records().len();
    let trusted = format!("kept/{n}.checkpoint");
    assert!(s.path(&trusted).exists());

    // A flipped byte in the last record.
    let mut flipped = good.clone();
    let at = flipped.len() - 20;
    flipped[at] ^= 1;
    std::fs::write(s.path("audit.log"), &flipped).unwrap();
    let (code, json) = s.verify(&[]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["code"], "E0803");
    assert_eq!(json["index"], (n - 1) as u64, "{json}");

    // Cut back to the first run together with its checkpoint: alone it verifies, against the
    // checkpoint kept outside the log it does not.
    let cut: usize = {
        std::fs::write(s.path("audit.log"), &good).unwrap();
        let o = s.run(&[
            "audit",
            "prove",
            "audit.log",
            "--key",
            "audit.key.pub",
            "--index",
            "0",
        ]);
        ok(&o);
        first_size
    };
    let frames = {
        let mut at = 0;
        let mut ends = Vec::new();
        while at < good.len() {
            let len = u32::from_be_bytes(good[at..at + 4].try_into().unwrap()) as usize;
            at += len + 8;
            ends.push(at);
        }
        ends
    };
    std::fs::write(s.path("audit.log"), &good[..frames[cut - 1]]).unwrap();
    std::fs::copy(
        s.path(&format!("kept/{first_size}.checkpoint")),
        s.path("audit.log.checkpoint"),
    )
    .unwrap();
    assert_eq!(s.verify(&[]).0, Some(0));
    let (code, json) = s.verify(&["--trusted-checkpoint", &trusted]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["code"], "E0805", "{json}");
    assert_eq!(json["index"], first_size as u64, "{json}");
}

#[test]
fn proofs_check_against_the_checkpoint() {
    let s = Setup::new();
    let plan = s.plan("proved", "required", true, "");
    let flags = ["--audit-key", "audit.key", "--audit-checkpoint-out", "kept"];
    ok(&s.exec(&plan, &flags, &["append", "a", "1"]));
    let old = format!("kept/{}.checkpoint", s.records().len());
    ok(&s.exec(&plan, &flags, &["append", "b", "2"]));
    let n = s.records().len() as u64;
    let key = std::fs::read_to_string(s.path("audit.key.pub")).unwrap();
    let latest = compose_audit::checkpoint::verify(
        &std::fs::read(s.path("audit.log.checkpoint")).unwrap(),
        &[key],
        "the checkpoint",
    )
    .unwrap();
    let prove = |args: &[&str]| {
        let mut all = vec!["audit", "prove", "audit.log", "--key", "audit.key.pub"];
        all.extend(args);
        let o = s.run(&all);
        ok(&o);
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let hash = |v: &Value| tlog_tiles::Hash::parse_hash(v.as_str().unwrap()).unwrap();
    for i in 0..n {
        let p = prove(&["--index", &i.to_string()]);
        let proof: Vec<_> = p["inclusion_proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash)
            .collect();
        // The leaf is the record's canonical CBOR, hashed as RFC 6962 says.
        let record: compose_audit::Record = serde_json::from_value(p["record"].clone()).unwrap();
        let leaf = tlog_tiles::record_hash(&record.encode());
        assert_eq!(leaf, hash(&p["leaf_hash"]));
        tlog_tiles::check_record(&proof, n, latest.hash, i, leaf).unwrap();
    }
    let p = prove(&["--consistency", &old]);
    let proof: Vec<_> = p["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash)
        .collect();
    let old_size = p["old_size"].as_u64().unwrap();
    tlog_tiles::check_tree(&proof, n, latest.hash, old_size, hash(&p["old_root_hash"])).unwrap();
    // Out of range is a usage error.
    let o = s.run(&[
        "audit",
        "prove",
        "audit.log",
        "--key",
        "audit.key.pub",
        "--index",
        "999",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

#[test]
fn a_second_writer_is_refused() {
    let s = Setup::new();
    let plan = s.plan("locked", "required", true, "");
    let key = std::fs::read_to_string(s.path("audit.key")).unwrap();
    let held = LogWriter::open(
        &s.path("audit.log"),
        Key::parse(&key).unwrap(),
        Options::default(),
    )
    .unwrap();
    let o = s.exec_keyed(&plan, &["append", "a", "b"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("E0802"), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    drop(held);
    ok(&s.exec_keyed(&plan, &["append", "a", "b"]));
}

#[test]
fn a_failing_log_stops_a_run_that_requires_it() {
    let s = Setup::new();
    // The checkpoint cannot be written: its temporary file's name is taken by a folder.
    std::fs::create_dir(s.path("audit.log.checkpoint.tmp")).unwrap();
    let required = s.plan("required", "required", true, "audit-required = true");
    let o = s.exec_keyed(&required, &["many", "100"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("E0801"), "{}", text(&o.stderr));
    // Not required: told and counted, and the run goes on (in a folder of its own: the log
    // above holds records no checkpoint covers, which a reopening host refuses to sign).
    let s = Setup::new();
    std::fs::create_dir(s.path("audit.log.checkpoint.tmp")).unwrap();
    let lenient = s.plan("lenient", "required", true, "");
    let o = s.exec_keyed(&lenient, &["many", "100"]);
    ok(&o);
    assert!(
        text(&o.stderr).contains("audit-required` is off"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn keygen_does_not_overwrite_a_key() {
    let s = Setup::new();
    let o = s.run(&["audit", "keygen", "-o", "audit.key"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("exists"), "{}", text(&o.stderr));
    let o = s.run(&["audit", "keygen", "-o", "bad.key", "--name", "has space"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("audit.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let s = Setup::new();
    let plan = s.plan("keys", "required", true, "");
    ok(&s.exec_keyed(&plan, &["append", "a", "b"]));
    let o = s.run(&[
        "audit",
        "keygen",
        "-o",
        "other.key",
        "--name",
        "test.invalid/audit",
    ]);
    ok(&o);
    let o = s.run(&[
        "audit",
        "verify",
        "audit.log",
        "--key",
        "other.key.pub",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["code"], "E0804", "{json}");
    // During a rotation both keys are given: the log verifies with either in the list.
    let o = s.run(&[
        "audit",
        "verify",
        "audit.log",
        "--key",
        "other.key.pub",
        "--key",
        "audit.key.pub",
    ]);
    ok(&o);
    // A key file that is not a verifier key.
    let o = s.run(&["audit", "verify", "audit.log", "--key", &plan, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["code"], "E0804", "{json}");
}

#[test]
fn secret_records_hold_token_names_never_values_nor_the_guests_words() {
    let s = Setup::new();
    std::fs::write(
        s.path("secrets.toml"),
        format!(
            r#"name = "secrets"
[components.probe]
path = {path:?}
exports = ["wasi:cli/run"]
imports = {{ "std:secrets/store" = {{ host = "secrets" }}, "std:secrets/operations" = {{ host = "secrets" }} }}
capabilities = {{ stdout = "required", args = "required", secrets = {{ tokens = ["api-key"] }} }}
[exports]
"wasi:cli/run" = "probe"
[grants]
stdout = true
args = true
[secrets]
api-key = "env:AUDIT_TEST_SECRET"
[observability]
audit = "file:audit.log"
"#,
            path = common::guest("secret-probe").display().to_string()
        ),
    )
    .unwrap();
    let secret = "s3cr3t-value-0123456789";
    let exec = |args: &[&str]| {
        let mut all = vec![
            "exec",
            "run",
            "secrets.toml",
            "--audit-key",
            "audit.key",
            "--",
        ];
        all.extend(args);
        std::process::Command::new(env!("CARGO_BIN_EXE_composectl"))
            .args(&all)
            .current_dir(s.path(""))
            .env("COMPOSE_CACHE_DIR", s.path("cache"))
            .env("AUDIT_TEST_SECRET", secret)
            .output()
            .unwrap()
    };
    ok(&exec(&["sign", "api-key", "data"]));
    // Revealing is refused (no `--reveal`); a name the plan does not define is the guest's
    // words, here a secret it would smuggle into a host record.
    assert_eq!(exec(&["reveal", "api-key"]).status.code(), Some(1));
    assert_eq!(exec(&["open", secret]).status.code(), Some(1));
    let records = s.records();
    let kinds = kinds(&records);
    assert!(
        kinds.contains(&"host:secret.opened".to_owned()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"host:secret.used".to_owned()), "{kinds:?}");
    assert!(
        kinds.contains(&"host:secret.reveal-denied".to_owned()),
        "{kinds:?}"
    );
    let denied = records
        .iter()
        .find(|r| r["kind"] == "secret.open-denied")
        .unwrap();
    assert_eq!(denied["fields"]["token"], "(not defined by the plan)");
    let bytes = std::fs::read(s.path("audit.log")).unwrap();
    let log = String::from_utf8_lossy(&bytes);
    assert!(!log.contains(secret), "a secret value is in the log");
    assert!(log.contains("api-key"));
    // A guest cannot fill the disk with the host's records: past 1000 per instance they are
    // counted in the stop record instead.
    let before = s.records().len();
    let o = exec(&["open-many", "1500", "nope"]);
    ok(&o);
    assert_eq!(text(&o.stdout).trim(), "ok: opened 0 of 1500");
    let records = s.records();
    let denied = records[before..]
        .iter()
        .filter(|r| r["kind"] == "secret.open-denied")
        .count();
    assert_eq!(denied, 1000);
    let stop = records.last().unwrap();
    assert_eq!(stop["kind"], "run.stop");
    assert_eq!(stop["fields"]["host-records-dropped"], "500");
}
