//! The host side of `std:attest/attestation`: a guest granted `attest` asks for evidence of
//! what it runs as (plan and component digests, the host's fingerprint, the time, its instance
//! id, and the nonce it passes), signed with the host's attestation key
//! ([`HostPolicy::attestation_key`]). The evidence format is `compose_trust::evidence`'s: fixed
//! fields of its own DSSE payload type, so the host never signs bytes a guest chose as they
//! are. Evidence says which key signed (`software-key` or `pkcs11`); there is no TPM or TEE
//! here, and asking for one is `unsupported`.
//!
//! Components composed into one share its imports, so every component of the composition that
//! imports `std:attest` may ask, as with WASI grants.

use std::sync::{Arc, Mutex};

use compose_engine::{Compatibility, THIS_TARGET, WASMTIME_VERSION};
use compose_model::plan::Plan;
use compose_model::{Code, Digest};
use compose_trust::Signer;
use compose_trust::evidence::{self, EvidenceKind as Kind, Host, MAX_NONCE, Subject};
use wasmtime::component::HasData;

use super::bindings::attest::std::attest::attestation::{self, AttestError, EvidenceKind, Report};
use super::state::{Known, Mode};
use crate::{ExecError, HostPolicy};

/// The host's attestation key: in memory or inside a PKCS#11 token.
#[derive(Clone)]
pub(crate) struct Attestor {
    /// A token's session is not shared between threads: one signature at a time.
    signer: Arc<Mutex<Box<dyn Signer + Send>>>,
    kind: Kind,
    fingerprint: String,
}

impl Attestor {
    pub(crate) fn new(signer: Box<dyn Signer + Send>) -> Attestor {
        Attestor {
            kind: Kind::of(signer.as_ref()),
            fingerprint: signer.public_key().fingerprint(),
            signer: Arc::new(Mutex::new(signer)),
        }
    }
}

impl std::fmt::Debug for Attestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attestor")
            .field("kind", &self.kind.as_str())
            .field("key", &self.fingerprint)
            .finish()
    }
}

/// What every report of a session says, and the key that signs it.
pub(crate) struct Attesting {
    subject: Subject,
    attestor: Attestor,
}

/// The attestation state of a session that is allowed `attest` (`None` otherwise): the host's
/// facts, taken once. The component must be known by its bytes or digest.
pub(crate) fn attesting(
    plan: &Plan,
    host: &HostPolicy,
    mode: Mode,
    known: Known,
) -> Result<Arc<Attesting>, ExecError> {
    let attestor = host.attestation.clone().ok_or_else(|| {
        ExecError::new(
            Code::ExecCapabilityRefused,
            "the run is allowed `attest`, but the host has no attestation key",
        )
    })?;
    let component = known.digest().ok_or_else(|| {
        ExecError::new(
            Code::PlanNotImplemented,
            "the plan grants `attest`, but this entry point is given compiled code only, so the host cannot say which component runs; use `Composition::new` or `Runtime::run`, which take the component's bytes",
        )
    })?;
    let engine = format!(
        "{} mode={}",
        Compatibility::here(&plan.policy).line(),
        mode.as_str()
    );
    let policy = serde_json::json!({
        "refuse": host.refuse.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "reveal": host.reveal,
        "secretBackends": host.secret_backends.schemes(),
        "serving": host.serving,
        "inputsChecked": host.inputs_checked,
        "planFolder": host.plan_folder.as_ref().map(|p| p.display().to_string()),
    });
    Ok(Arc::new(Attesting {
        subject: Subject {
            plan: plan.digest(),
            component,
            host: Host {
                runtime: concat!("compose-runtime/", env!("CARGO_PKG_VERSION")).to_owned(),
                wasmtime: WASMTIME_VERSION.to_owned(),
                target: THIS_TARGET.to_owned(),
                engine: Digest::of(engine.as_bytes()),
                policy: Digest::of(policy.to_string().as_bytes()),
            },
        },
        attestor,
    }))
}

/// One store's `std:attest` state: the session's, when the run is allowed `attest`, and the
/// store's instance id (made at its first report).
pub(crate) struct AttestCtx {
    session: Option<Arc<Attesting>>,
    instance: Option<[u8; 16]>,
}

impl AttestCtx {
    pub(crate) fn new(session: Option<Arc<Attesting>>) -> AttestCtx {
        AttestCtx {
            session,
            instance: None,
        }
    }
}

pub(crate) struct HasAttest;

impl HasData for HasAttest {
    type Data<'a> = &'a mut AttestCtx;
}

fn wit_kind(kind: Kind) -> EvidenceKind {
    match kind {
        Kind::SoftwareKey => EvidenceKind::SoftwareKey,
        Kind::Pkcs11 => EvidenceKind::Pkcs11,
    }
}

impl attestation::Host for &mut AttestCtx {
    fn available(&mut self) -> Vec<EvidenceKind> {
        self.session
            .iter()
            .map(|s| wit_kind(s.attestor.kind))
            .collect()
    }

    fn attest(&mut self, data: Vec<u8>, kind: Option<EvidenceKind>) -> Result<Report, AttestError> {
        let Some(session) = &self.session else {
            return Err(AttestError::Unavailable(
                "this composition is not allowed `attest`: no component requests it, the plan does not grant it, the host refuses it or has no attestation key".into(),
            ));
        };
        let held = wit_kind(session.attestor.kind);
        if let Some(k) = kind
            && k != held
        {
            return Err(AttestError::Unsupported(k));
        }
        if data.len() > MAX_NONCE {
            return Err(AttestError::DataTooLong(MAX_NONCE as u32));
        }
        let instance = match self.instance {
            Some(i) => i,
            None => match evidence::new_instance() {
                Ok(i) => *self.instance.insert(i),
                Err(e) => return Err(AttestError::Failed(e.message)),
            },
        };
        let signer = session
            .attestor
            .signer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match evidence::make(&session.subject, &data, &instance, signer.as_ref()) {
            Ok((bundle, _)) => Ok(Report {
                kind: held,
                format: compose_trust::BUNDLE_MEDIA_TYPE.to_owned(),
                evidence: bundle.into_bytes(),
                plan_digest: session.subject.plan.to_string(),
                component_digest: session.subject.component.to_string(),
            }),
            Err(e) => Err(AttestError::Failed(e.message)),
        }
    }
}
