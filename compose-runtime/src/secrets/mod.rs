//! Secret tokens (`std:secrets`): the plan names a token and where its value lives
//! (`env:NAME`, `file:PATH`, `vault:PATH#KEY`, `pkcs11:…`); a guest opens the token by name and
//! asks the host to sign with it or attach it to outgoing HTTP. The value is read from a
//! [`SecretBackend`] at the moment it is used, kept in host memory only (zeroed when dropped),
//! and shown to a guest only for tokens the host policy lets it reveal.
//!
//! Backends are chosen by the reference's scheme. `env` and `file` are built in; others (and
//! replacements for those two) are registered with [`crate::HostPolicy::secret_backend`] or
//! [`crate::Builder::secret_backend`]. `VaultBackend` (compose-runtime's `vault` feature)
//! reads OpenBao or Vault KV version 2; `Pkcs11Backend` (its `pkcs11` feature) signs with keys
//! held in a PKCS#11 token (an HSM, or SoftHSM2).

mod backend;
#[cfg(feature = "pkcs11")]
mod pkcs11;
#[cfg(feature = "vault")]
mod vault;

pub(crate) use backend::SecretBackends;
pub use backend::{Algorithm, EnvBackend, FileBackend, Secret, SecretBackend, SecretError};
#[cfg(feature = "pkcs11")]
pub use pkcs11::{Pkcs11Backend, SOFTHSM2_MODULE};
#[cfg(feature = "vault")]
pub use vault::VaultBackend;
