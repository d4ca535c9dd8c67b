//! The host side of `std:secrets/operations`: sign with a granted token, or attach it to
//! outgoing HTTP (added by the host after the request leaves the guest, only for an authority
//! on the plan's `http` allowlist, and only under `exec serve`).

use wasmtime::component::Resource;

use super::bindings::TokenHandle;
use super::bindings::std::secrets::{operations, store};
use super::secrets_store::{AddedHeader, SecretsView, from_backend};
use crate::secrets::Algorithm;

/// The most secret headers one instance may attach to its outgoing requests.
const MAX_HEADERS: usize = 64;

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
        let signed = g.call(
            self.deadline,
            "`std:secrets/operations.sign`",
            move |backend, reference| backend.sign(reference, algorithm, &data),
        );
        let name = name.clone();
        let signed = match signed {
            Ok(signed) => signed.map_err(|e| from_backend(&name, e)),
            Err(stopped) => {
                let fields = [("operation", "sign"), ("outcome", "stopped")];
                self.record("secret.used", &name, &fields)?;
                return Err(stopped);
            }
        };
        let outcome = if signed.is_ok() { "signed" } else { "failed" };
        self.record(
            "secret.used",
            &name,
            &[("operation", "sign"), ("outcome", outcome)],
        )?;
        Ok(signed)
    }

    fn add_http_header(
        &mut self,
        token: Resource<TokenHandle>,
        authority: String,
        header: String,
        scheme: Option<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let name = self.table.get(&token)?.name.clone();
        // Recorded only when on the allowlist: anything else is the guest's words.
        let to = authority.to_ascii_lowercase();
        let to = match &self.ctx.http {
            Some(allowed) if allowed.contains(&to) => to,
            _ => "(not allowed)".to_owned(),
        };
        let (added, outcome) = match self.add_header(&name, authority, &header, scheme.as_deref()) {
            Err(Refused::Trap(stopped)) => (Err(stopped), "stopped"),
            Err(Refused::Guest(e)) => (Ok(Err(e)), "refused"),
            Ok(()) => (Ok(Ok(())), "attached"),
        };
        self.record(
            "secret.used",
            &name,
            &[
                ("operation", "http-header"),
                ("authority", &to),
                ("outcome", outcome),
            ],
        )?;
        // A trap (the deadline passed while the backend was read) is raised once recorded.
        added
    }
}

/// Why a header was not attached: the guest's error, or a trap (the deadline passed while the
/// backend was read).
enum Refused {
    Guest(store::Error),
    Trap(wasmtime::Error),
}

impl From<store::Error> for Refused {
    fn from(e: store::Error) -> Self {
        Refused::Guest(e)
    }
}

impl SecretsView<'_> {
    fn add_header(
        &mut self,
        name: &str,
        authority: String,
        header: &str,
        scheme: Option<&str>,
    ) -> Result<(), Refused> {
        let g = self.ctx.granted(name)?;
        let Some(allowed) = &self.ctx.http else {
            return Err(Refused::Guest(store::Error::Unsupported(
                "this host makes no outgoing HTTP requests (`exec run`); `add-http-header` works under `exec serve`".into(),
            )));
        };
        let authority = authority.to_ascii_lowercase();
        if !allowed.contains(&authority) {
            return Err(Refused::Guest(store::Error::Denied(format!(
                "`{authority}` is not on the plan's `http` allowlist, so no secret is sent to it"
            ))));
        }
        if self.ctx.headers.len() >= MAX_HEADERS {
            return Err(Refused::Guest(store::Error::Denied(format!(
                "an instance may attach at most {MAX_HEADERS} secret headers"
            ))));
        }
        let header_name = http::HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
            store::Error::Unsupported(format!("`{header}` is not a valid HTTP header name"))
        })?;
        if !allowed_header(&header_name) {
            return Err(Refused::Guest(store::Error::Denied(format!(
                "a secret may not be sent as the `{header_name}` header, which routes or frames the request"
            ))));
        }
        let secret = g
            .call(
                self.deadline,
                "`std:secrets/operations.add-http-header`",
                |backend, reference| backend.read(reference),
            )
            .map_err(Refused::Trap)?
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
    use super::allowed_header;

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
}
