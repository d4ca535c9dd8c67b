//! `vault:MOUNT/PATH#KEY`: a key of a KV version 2 secret in OpenBao or HashiCorp Vault, read
//! over their HTTP API.

use std::time::Duration;

use super::{Secret, SecretBackend, SecretError};

/// Reads `vault:` secrets from OpenBao or Vault (KV version 2).
///
/// The reference `vault:secret/app#api-key` names the mount (`secret`), the secret's path under
/// it (`app`) and a key of its data (`api-key`): the backend reads
/// `GET {address}/v1/secret/data/app` and takes `data.data["api-key"]`, a string.
///
/// Each use reads the secret afresh (so a rotated value takes effect at once), blocking the
/// thread that runs the guest for up to the request timeout (under `exec serve`, one of the
/// server's worker threads), or until the plan's deadline if that comes first.
pub struct VaultBackend {
    address: String,
    token: Secret,
    agent: ureq::Agent,
}

impl std::fmt::Debug for VaultBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultBackend")
            .field("address", &self.address)
            .field("token", &self.token)
            .finish()
    }
}

impl VaultBackend {
    /// A backend for the server at `address` (e.g. `http://127.0.0.1:8200`), authenticating
    /// with `token`. Requests time out after 10 seconds.
    pub fn new(address: impl Into<String>, token: Secret) -> VaultBackend {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        VaultBackend {
            address: address.into().trim_end_matches('/').to_owned(),
            token,
            agent,
        }
    }

    /// A backend configured the way the `bao` and `vault` commands are: the address from
    /// `BAO_ADDR` (or `VAULT_ADDR`), the token from `BAO_TOKEN` (or `VAULT_TOKEN`).
    pub fn from_env() -> Result<VaultBackend, SecretError> {
        let var = |names: [&str; 2]| names.iter().find_map(std::env::var_os);
        let address = var(["BAO_ADDR", "VAULT_ADDR"]).ok_or_else(|| {
            SecretError::Backend(
                "no OpenBao/Vault address: set `BAO_ADDR` (or `VAULT_ADDR`)".to_owned(),
            )
        })?;
        let token = var(["BAO_TOKEN", "VAULT_TOKEN"]).ok_or_else(|| {
            SecretError::Backend(
                "no OpenBao/Vault token: set `BAO_TOKEN` (or `VAULT_TOKEN`)".to_owned(),
            )
        })?;
        Ok(VaultBackend::new(
            address.to_string_lossy(),
            Secret::new(token.into_encoded_bytes()),
        ))
    }
}

impl SecretBackend for VaultBackend {
    fn read(&self, reference: &str) -> Result<Secret, SecretError> {
        let (path, key) = reference.split_once('#').ok_or_else(|| {
            SecretError::NotFound(format!(
                "`vault:{reference}` names no key; write `vault:MOUNT/PATH#KEY`"
            ))
        })?;
        let (mount, rest) = path.split_once('/').ok_or_else(|| {
            SecretError::NotFound(format!(
                "`vault:{reference}` names no mount; write `vault:MOUNT/PATH#KEY`, e.g. `vault:secret/app#api-key`"
            ))
        })?;
        let url = format!("{}/v1/{mount}/data/{rest}", self.address);
        let token = std::str::from_utf8(self.token.expose())
            .map_err(|_| SecretError::Backend("the OpenBao/Vault token is not UTF-8".into()))?;
        let response = self.agent.get(&url).header("X-Vault-Token", token).call();
        let mut response = match response {
            Ok(r) => r,
            Err(ureq::Error::StatusCode(404)) => {
                return Err(SecretError::NotFound(format!(
                    "OpenBao/Vault has no secret at `{mount}/{rest}` ({url})"
                )));
            }
            Err(ureq::Error::StatusCode(403)) => {
                return Err(SecretError::Backend(format!(
                    "OpenBao/Vault refused the token for `{mount}/{rest}` (403); check its policy"
                )));
            }
            Err(e) => {
                return Err(SecretError::Backend(format!(
                    "cannot read `{mount}/{rest}` from OpenBao/Vault at {}: {e}",
                    self.address
                )));
            }
        };
        // Parsed straight into a value that is dropped here; only the one key is kept.
        let body: serde_json::Value = response.body_mut().read_json().map_err(|e| {
            SecretError::Backend(format!(
                "OpenBao/Vault answered `{url}` with malformed JSON: {e}"
            ))
        })?;
        match body.pointer("/data/data").and_then(|d| d.get(key)) {
            Some(serde_json::Value::String(s)) => Ok(Secret::new(s.as_bytes().to_vec())),
            Some(_) => Err(SecretError::Backend(format!(
                "the key `{key}` of `{mount}/{rest}` is not a string"
            ))),
            None => Err(SecretError::NotFound(format!(
                "the secret `{mount}/{rest}` has no key `{key}`"
            ))),
        }
    }
}
