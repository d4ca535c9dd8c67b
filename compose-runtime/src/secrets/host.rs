//! The host side of `std:secrets`: a guest opens a token the run was granted, signs with it,
//! attaches it to outgoing HTTP, or reveals it where the host policy allows.
//!
//! Components composed into one share its imports, so a token granted to any component of the
//! plan can be opened by every component that imports `std:secrets` (as with WASI grants).

use std::collections::BTreeMap;
use std::sync::Arc;

use compose_model::Code;
use compose_model::plan::Plan;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::{Algorithm, SecretBackend, SecretError};
use crate::{Effective, ExecError, HostPolicy};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/std-secrets",
        world: "std:secrets/secret-user",
        with: { "std:secrets/store.token": super::TokenHandle },
        imports: { default: trappable },
    });
}

use bindings::std::secrets::{operations, store};

/// The most secret headers one instance may attach to its outgoing requests.
const MAX_HEADERS: usize = 64;

/// The most tokens one instance may hold open at once (the resource table is host memory, which
/// the plan's memory limit does not cover).
const MAX_OPEN_TOKENS: usize = 1024;

/// Headers a secret may not be sent as: those that route or frame the request (a server may echo
/// `host` back, e.g. in a redirect), and hop-by-hop ones.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "te",
    "trailer",
    "connection",
    "keep-alive",
    "upgrade",
    "proxy-connection",
    "expect",
];

/// Whether `name` may carry a secret.
fn allowed_header(name: &http::HeaderName) -> bool {
    !FORBIDDEN_HEADERS.contains(&name.as_str())
}

/// Whether `host` (as in a URI: a name, an IPv4 address or a bracketed IPv6 one) is this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A token a guest opened: only its name; the value stays with the backend.
pub struct TokenHandle {
    name: String,
}

/// A token the run was granted: its backend and reference, and whether guests may see it.
struct Granted {
    backend: Arc<dyn SecretBackend>,
    /// The reference without its scheme, e.g. `API_KEY` for `env:API_KEY`.
    reference: String,
    reveal: bool,
}

/// Every token the plan defines, granted (`Some`) or not; made once per run or server.
#[derive(Clone, Default)]
pub(crate) struct SecretGrants(Arc<BTreeMap<String, Option<Granted>>>);

impl SecretGrants {
    /// The tokens of `plan`, granted as `allowed` says, with the backends and reveal policy of
    /// `host`. A granted token whose scheme has no backend was refused by
    /// [`Effective::compute`] already; here it is left ungranted.
    pub(crate) fn new(plan: &Plan, allowed: &Effective, host: &HostPolicy) -> SecretGrants {
        let tokens = plan
            .secrets
            .iter()
            .map(|(name, r)| {
                let granted = allowed.secrets.contains(name).then(|| {
                    let (scheme, reference) = r.as_str().split_once(':').unwrap_or(("", ""));
                    host.secret_backends.get(scheme).map(|backend| Granted {
                        backend,
                        reference: reference.to_owned(),
                        reveal: host.reveal.contains(name),
                    })
                });
                (name.clone(), granted.flatten())
            })
            .collect();
        SecretGrants(Arc::new(tokens))
    }
}

/// A secret header to add to a store's outgoing requests to one authority.
pub(crate) struct AddedHeader {
    /// `host:port`.
    pub(crate) authority: String,
    pub(crate) name: http::HeaderName,
    /// Marked sensitive, so it is never logged.
    pub(crate) value: http::HeaderValue,
}

/// One store's `std:secrets` state.
pub(crate) struct SecretsCtx {
    grants: SecretGrants,
    /// The outgoing-HTTP allowlist (`host:port`) when the store can make requests at all.
    http: Option<Arc<Vec<String>>>,
    /// Headers `add-http-header` asked for, added by the outgoing-request hook.
    pub(crate) headers: Vec<AddedHeader>,
    /// Tokens open now.
    open: usize,
}

impl SecretsCtx {
    /// State for a store with `grants`; `http` is the allowlist when the store serves
    /// outgoing HTTP (`exec serve`), `None` under `exec run`.
    pub(crate) fn new(grants: SecretGrants, http: Option<Arc<Vec<String>>>) -> SecretsCtx {
        SecretsCtx {
            grants,
            http,
            headers: Vec::new(),
            open: 0,
        }
    }

    fn granted(&self, name: &str) -> Result<&Granted, store::Error> {
        match self.grants.0.get(name) {
            Some(Some(g)) => Ok(g),
            Some(None) => Err(store::Error::Denied(format!(
                "the secret `{name}` is not granted to this composition: no component requests it, or the host refused `secrets`"
            ))),
            None => Err(store::Error::UnknownToken(format!(
                "the plan defines no secret `{name}`"
            ))),
        }
    }
}

/// What the generated `std:secrets` traits are implemented on: a store's secrets state and its
/// resource table.
pub(crate) struct SecretsView<'a> {
    pub(crate) ctx: &'a mut SecretsCtx,
    pub(crate) table: &'a mut ResourceTable,
}

struct HasSecrets;

impl HasData for HasSecrets {
    type Data<'a> = SecretsView<'a>;
}

/// Whether the plan binds any `std:secrets` import to the host's `secrets`: only then is the
/// package linked (an import the plan denies stays a trap).
pub(crate) fn linked(plan: &Plan) -> bool {
    plan.components.values().any(|c| {
        c.imports.iter().any(|(name, b)| {
            name.starts_with("std:secrets/")
                && matches!(
                    b,
                    compose_model::plan::Binding::Host {
                        capability: compose_model::plan::Capability::Secrets,
                        ..
                    }
                )
        })
    })
}

/// Defines `std:secrets/store` and `std:secrets/operations` in `linker`.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> SecretsView<'_>,
) -> Result<(), ExecError> {
    bindings::SecretUser::add_to_linker::<T, HasSecrets>(linker, get).map_err(|e| {
        ExecError::new(
            Code::ExecInvalidComponent,
            format!("cannot link `std:secrets`: {e:#}"),
        )
    })
}

fn from_backend(name: &str, e: SecretError) -> store::Error {
    match e {
        SecretError::NotFound(m) | SecretError::Backend(m) => {
            store::Error::Backend(format!("secret `{name}`: {m}"))
        }
        SecretError::Unsupported(m) => store::Error::Unsupported(format!("secret `{name}`: {m}")),
    }
}

impl store::Host for SecretsView<'_> {}

impl store::HostToken for SecretsView<'_> {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<TokenHandle>, store::Error>> {
        if let Err(e) = self.ctx.granted(&name) {
            return Ok(Err(e));
        }
        if self.ctx.open >= MAX_OPEN_TOKENS {
            return Ok(Err(store::Error::Denied(format!(
                "an instance may hold at most {MAX_OPEN_TOKENS} tokens open; drop some first"
            ))));
        }
        self.ctx.open += 1;
        Ok(Ok(self.table.push(TokenHandle { name })?))
    }

    fn name(&mut self, token: Resource<TokenHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&token)?.name.clone())
    }

    fn reveal(
        &mut self,
        token: Resource<TokenHandle>,
    ) -> wasmtime::Result<Result<Vec<u8>, store::Error>> {
        let name = &self.table.get(&token)?.name;
        let g = match self.ctx.granted(name) {
            Ok(g) => g,
            Err(e) => return Ok(Err(e)),
        };
        if !g.reveal {
            return Ok(Err(store::Error::Denied(format!(
                "the host does not let guests reveal `{name}`; sign with it or attach it to a request instead, or let the host reveal it (`--reveal {name}`, `Builder::reveal`)"
            ))));
        }
        Ok(g.backend
            .read(&g.reference)
            .map(|s| s.expose().to_vec())
            .map_err(|e| from_backend(name, e)))
    }

    fn drop(&mut self, token: Resource<TokenHandle>) -> wasmtime::Result<()> {
        self.table.delete(token)?;
        self.ctx.open = self.ctx.open.saturating_sub(1);
        Ok(())
    }
}

impl operations::Host for SecretsView<'_> {
    fn sign(
        &mut self,
        token: Resource<TokenHandle>,
        algorithm: operations::Algorithm,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, store::Error>> {
        let name = &self.table.get(&token)?.name;
        let g = match self.ctx.granted(name) {
            Ok(g) => g,
            Err(e) => return Ok(Err(e)),
        };
        let algorithm = match algorithm {
            operations::Algorithm::HmacSha256 => Algorithm::HmacSha256,
            operations::Algorithm::EcdsaP256Sha256 => Algorithm::EcdsaP256Sha256,
            operations::Algorithm::Ed25519 => Algorithm::Ed25519,
        };
        Ok(g.backend
            .sign(&g.reference, algorithm, &data)
            .map_err(|e| from_backend(name, e)))
    }

    fn add_http_header(
        &mut self,
        token: Resource<TokenHandle>,
        authority: String,
        header: String,
        scheme: Option<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let name = self.table.get(&token)?.name.clone();
        Ok(self.add_header(&name, authority, &header, scheme.as_deref()))
    }
}

impl SecretsView<'_> {
    fn add_header(
        &mut self,
        name: &str,
        authority: String,
        header: &str,
        scheme: Option<&str>,
    ) -> Result<(), store::Error> {
        let g = self.ctx.granted(name)?;
        let Some(allowed) = &self.ctx.http else {
            return Err(store::Error::Unsupported(
                "this host makes no outgoing HTTP requests (`exec run`); `add-http-header` works under `exec serve`".into(),
            ));
        };
        let authority = authority.to_ascii_lowercase();
        if !allowed.contains(&authority) {
            return Err(store::Error::Denied(format!(
                "`{authority}` is not on the plan's `http` allowlist, so no secret is sent to it"
            )));
        }
        if self.ctx.headers.len() >= MAX_HEADERS {
            return Err(store::Error::Denied(format!(
                "an instance may attach at most {MAX_HEADERS} secret headers"
            )));
        }
        let header_name = http::HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
            store::Error::Unsupported(format!("`{header}` is not a valid HTTP header name"))
        })?;
        if !allowed_header(&header_name) {
            return Err(store::Error::Denied(format!(
                "a secret may not be sent as the `{header_name}` header, which routes or frames the request"
            )));
        }
        let secret = g
            .backend
            .read(&g.reference)
            .map_err(|e| from_backend(name, e))?;
        let len = scheme.map_or(0, |s| s.len() + 1) + secret.expose().len();
        // Sized once: a growing buffer would leave copies behind in the memory it gave up.
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(len));
        if let Some(s) = scheme {
            bytes.extend_from_slice(s.as_bytes());
            bytes.push(b' ');
        }
        bytes.extend_from_slice(secret.expose());
        let mut value = http::HeaderValue::from_bytes(&bytes).map_err(|_| {
            store::Error::Unsupported(format!(
                "the value of secret `{name}` (with its scheme) cannot be an HTTP header value: it has control characters"
            ))
        })?;
        value.set_sensitive(true);
        self.ctx.headers.push(AddedHeader {
            authority,
            name: header_name,
            value,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{allowed_header, is_loopback};

    #[test]
    fn secrets_are_not_sent_as_routing_or_framing_headers() {
        for name in [
            "host",
            "Host",
            "content-length",
            "transfer-encoding",
            "connection",
        ] {
            let n = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(!allowed_header(&n), "{name}");
        }
        for name in ["authorization", "x-api-key", "proxy-authorization"] {
            let n = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(allowed_header(&n), "{name}");
        }
    }

    #[test]
    fn only_this_machine_is_loopback() {
        for host in ["127.0.0.1", "127.9.9.9", "[::1]", "localhost", "LocalHost"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "example.com",
            "[::2]",
            "localhost.example.com",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
