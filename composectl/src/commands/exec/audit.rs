//! `exec --audit-key`: opening the audit log the plan names (`observability.audit =
//! "file:PATH"`), with checkpoints signed by the host's key, and recording the host's own
//! signature check in it.

use std::path::{Path, PathBuf};

use anyhow::Result;
use compose_model::plan::Plan;
use compose_model::{Code, Hashed};
use compose_runtime::audit::AuditLog;
use compose_runtime::compose_audit::{AuditError, Key, Options};

/// The audit flags of `exec run` and `exec serve`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Sign the checkpoints of the audit log the plan names (`observability.audit =
    /// "file:PATH"`) with this key (`audit keygen` writes it). A plan that names a log does not
    /// run without one (E0801).
    #[arg(long, value_name = "KEY")]
    audit_key: Option<PathBuf>,
    /// Also write each checkpoint, as it is made, to this folder (`SIZE.checkpoint`), apart
    /// from the log: `audit verify --trusted-checkpoint` then finds a log cut together with
    /// its own checkpoint.
    #[arg(long, value_name = "DIR", requires = "audit_key")]
    audit_checkpoint_out: Option<PathBuf>,
    /// The verifier key (`audit keygen`'s FILE.pub) of the key used before `--audit-key`, after
    /// a rotation: the log's last checkpoint may be signed by it (repeatable). Without it a log
    /// whose checkpoint another key signed is refused (E0804).
    #[arg(long, value_name = "PUB", requires = "audit_key")]
    audit_previous_key: Vec<PathBuf>,
}

impl AuditArgs {
    /// A usage error (`E0901`) for an audit key given where the plan names no log: the key
    /// would sign nothing, and no record would be kept, so the flag is refused, not ignored.
    pub fn check(&self, plan: &Plan) -> anyhow::Result<()> {
        if self.audit_key.is_some() && plan.observability.audit.is_none() {
            return Err(crate::failure::Coded::usage(
                "`--audit-key` signs the checkpoints of the audit log a plan names, and this plan names none (`observability.audit = \"file:PATH\"`; a component run without `--plan` has none), so nothing would be recorded; add the log to the plan or drop the flag",
            ));
        }
        Ok(())
    }

    /// The log `plan` names, opened for appending; `None` when it names none.
    pub fn open(&self, plan: &Plan, folder: Option<&Path>) -> Result<Option<AuditLog>, AuditError> {
        let Some(path) = AuditLog::plan_path(plan, folder) else {
            return Ok(None);
        };
        let Some(key_path) = &self.audit_key else {
            return Err(AuditError::new(
                Code::AuditSink,
                format!(
                    "the plan writes an audit log to `{}`, whose checkpoints need a signing key; give one (`--audit-key KEY`, made by `composectl audit keygen`)",
                    path.display()
                ),
            ));
        };
        let text = std::fs::read_to_string(key_path).map_err(|e| {
            AuditError::new(
                Code::CliIo,
                format!("cannot read `{}`: {e}", key_path.display()),
            )
        })?;
        let key = Key::parse(&text)?;
        let mut options = Options::default();
        if let Some(dir) = &self.audit_checkpoint_out {
            options = options.checkpoint_out(dir);
        }
        for p in &self.audit_previous_key {
            let text = std::fs::read_to_string(p).map_err(|e| {
                AuditError::new(Code::CliIo, format!("cannot read `{}`: {e}", p.display()))
            })?;
            options = options.previous_key(text.trim());
        }
        AuditLog::open(&path, key, options)
            .map(Some)
            .map_err(|e| AuditError::new(e.code, e.message))
    }
}

/// Records the outcome of `--require-signature` (the signers, or the refusal's code).
pub fn signature(
    log: &AuditLog,
    plan: &Plan,
    component: &Hashed<impl AsRef<[u8]>>,
    checked: &Result<Vec<String>, compose_trust::TrustError>,
) -> Result<()> {
    let (kind, detail) = match checked {
        Ok(signers) => ("signature.verified", ("signers", signers.join(","))),
        Err(e) => ("signature.refused", ("code", e.code.as_str().to_owned())),
    };
    let recorded = log.host_event(
        plan,
        Some(&component.digest().to_string()),
        kind,
        &[(detail.0, &detail.1)],
    );
    if let Err(e) = recorded {
        if plan.observability.audit_required {
            return Err(crate::failure::Coded::error(e.code, e.message));
        }
        eprintln!("audit: {e}");
    }
    Ok(())
}
