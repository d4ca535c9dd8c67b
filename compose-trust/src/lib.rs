//! Signatures over components and compositions, in the formats Sigstore tooling reads.
//!
//! - [`keys`]: P-256 and Ed25519 keys as PEM (what `cosign generate-key-pair` writes for its
//!   public half), key generation that never overwrites and keeps the private key private.
//! - [`sign`]: Sigstore bundles v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`): a
//!   `messageSignature` over an artifact's bytes, or a `dsseEnvelope` over an in-toto
//!   statement (a composition, see [`statement`]). Keyed bundles made here carry no
//!   transparency-log entry: there is none offline (`cosign verify-blob` then needs
//!   `--insecure-ignore-tlog`).
//! - [`pkcs11`]: signing inside a PKCS#11 token; the private key never leaves it.
//! - [`verify`]: checking bundles against the signers a plan or a host accepts, keyed or
//!   keyless (a Fulcio certificate, its SCT and the transparency log, against a Sigstore
//!   `trusted_root.json` given offline). The verifying key is never taken from the bundle.
//! - [`evidence`]: attestation evidence a host signs for a guest (`std:attest`): fixed fields
//!   in a DSSE envelope of its own payload type, and its verification against a nonce.
//! - [`locate`]: where bundles are found (beside the artifact, in the blob store).
//! - [`cache`]: verification results kept in a private blob store, so a warm run does not
//!   check the same signatures again.
//!
//! Bundle parsing and every certificate, SCT, timestamp and log check are Sigstore's own crates
//! (`sigstore-verify`, `sigstore-bundle`, `sigstore-types`); this crate chooses the policy.

pub mod cache;
pub mod error;
pub mod evidence;
pub mod keys;
pub mod locate;
pub mod pkcs11;
mod policy;
pub mod sign;
pub mod statement;
pub mod verify;

pub use error::TrustError;
pub use keys::{PublicKey, SigningKey};
pub use sign::Signer;
pub use verify::{Accepted, Artifact, Policy, TrustedRoot, Verified};

/// The media type of the bundles this crate writes.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The file name suffix of a bundle beside its artifact (`X.wasm.sigstore.json`).
pub const BUNDLE_SUFFIX: &str = ".sigstore.json";
