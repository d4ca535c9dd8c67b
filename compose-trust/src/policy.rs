//! Who must have signed: the accepted signers, how many of them (a threshold), and the
//! Sigstore trusted root for keyless signatures (there is no built-in one).

use std::collections::BTreeSet;
use std::path::Path;

use compose_model::{Code, Digest};
use sigstore_verify::Verifier;

use crate::error::{TrustError, fail};
use crate::verify::Accepted;

/// A Sigstore trusted root (`trusted_root.json`), and the digest of its file.
pub struct TrustedRoot {
    root: sigstore_trust_root::TrustedRoot,
    digest: Digest,
}

impl TrustedRoot {
    /// Reads a `trusted_root.json`.
    pub fn read(path: &Path) -> Result<TrustedRoot, TrustError> {
        let bytes = std::fs::read(path).map_err(|e| {
            TrustError::new(
                Code::TrustBadTrustedRoot,
                format!("cannot read the trusted root `{}`: {e}", path.display()),
            )
        })?;
        TrustedRoot::from_json(&bytes)
            .map_err(|e| TrustError::new(e.code, format!("`{}`: {}", path.display(), e.message)))
    }

    /// A trusted root from its JSON.
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot, TrustError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| TrustError::new(Code::TrustBadTrustedRoot, "not UTF-8 JSON"))?;
        let root = sigstore_trust_root::TrustedRoot::from_json(text).map_err(|e| {
            TrustError::new(
                Code::TrustBadTrustedRoot,
                format!("not a Sigstore trusted root: {e}"),
            )
        })?;
        Ok(TrustedRoot {
            root,
            digest: Digest::of(bytes),
        })
    }

    /// The digest of the file it was read from.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}

/// Who must have signed, how many of them, and the trusted root for keyless signatures.
pub struct Policy {
    pub(crate) signers: Vec<Accepted>,
    pub(crate) threshold: usize,
    root_digest: Option<Digest>,
    /// Sigstore's verifier for the trusted root; `None` without one, when no keyless
    /// signature (or keyed bundle's log entry) can be checked, so none is built (making one,
    /// even for a root with no authorities, cost a keyed check a fifth of its time).
    pub(crate) verifier: Option<Verifier>,
    pub(crate) plan: Option<Digest>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("signers", &self.signers)
            .field("threshold", &self.threshold)
            .field("trusted_root", &self.root_digest)
            .field("plan", &self.plan)
            .finish()
    }
}

impl Policy {
    /// Any one of `signers` must have signed (`threshold` 1). Keyless signers need
    /// [`Policy::trusted_root`]. A signer listed twice (the same key inline and by file, say)
    /// is one signer, so it can never count twice towards a threshold.
    pub fn new(signers: Vec<Accepted>) -> Result<Policy, TrustError> {
        let mut seen = BTreeSet::new();
        let signers: Vec<Accepted> = signers
            .into_iter()
            .filter(|s| seen.insert(s.describe()))
            .collect();
        Ok(Policy {
            signers,
            threshold: 1,
            root_digest: None,
            verifier: None,
            plan: None,
        })
    }

    /// `n` distinct accepted signers must have signed (`1 ≤ n ≤` the number of signers).
    pub fn threshold(mut self, n: usize) -> Result<Policy, TrustError> {
        if n == 0 || n > self.signers.len() {
            return fail(
                Code::TrustThreshold,
                format!(
                    "a threshold of {n} with {} signers can never be met",
                    self.signers.len()
                ),
            );
        }
        self.threshold = n;
        Ok(self)
    }

    /// Verifies keyless signatures (and keyed bundles' log entries) against `root`.
    pub fn trusted_root(mut self, root: &TrustedRoot) -> Result<Policy, TrustError> {
        self.verifier = Some(verifier(&root.root)?);
        self.root_digest = Some(root.digest);
        Ok(self)
    }

    /// Requires a verified composition statement naming `plan` (the digest of the plan's
    /// canonical CBOR): a composition runs with its plan's grants, so its signature must
    /// cover them, not only its bytes. Refused with `E0710` otherwise.
    pub fn plan(mut self, plan: Digest) -> Policy {
        self.plan = Some(plan);
        self
    }

    /// The accepted signers.
    pub fn signers(&self) -> &[Accepted] {
        &self.signers
    }

    /// What a verification result can be cached under besides the artifact and bundles: the
    /// signers, the threshold, the trusted root and the plan required.
    pub fn cache_key(&self) -> Digest {
        let mut text = format!("threshold={}\n", self.threshold);
        for s in &self.signers {
            text.push_str(&s.describe());
            text.push('\n');
        }
        if let Some(d) = self.root_digest {
            text.push_str(&format!("root={d}\n"));
        }
        if let Some(d) = self.plan {
            text.push_str(&format!("plan={d}\n"));
        }
        Digest::of(text.as_bytes())
    }

    pub(crate) fn expected(&self) -> String {
        let all: Vec<String> = self.signers.iter().map(Accepted::describe).collect();
        if self.threshold > 1 {
            format!("{} of {}", self.threshold, all.join(", "))
        } else if all.len() == 1 {
            all[0].clone()
        } else {
            format!("one of {}", all.join(", "))
        }
    }
}

fn verifier(root: &sigstore_trust_root::TrustedRoot) -> Result<Verifier, TrustError> {
    Verifier::new(root).map_err(|e| {
        TrustError::new(
            Code::TrustBadTrustedRoot,
            format!("the trusted root is unusable: {e}"),
        )
    })
}
