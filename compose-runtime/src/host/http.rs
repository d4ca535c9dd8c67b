//! The host side of `wasi:http` outgoing requests (`exec serve` only): a request leaves only for
//! an authority on the plan's `http` allowlist (`host:port`), with the secret headers the guest
//! attached (`std:secrets`) added here, after the guest let go of the request; everything else
//! is denied, with a log line naming the request.
//!
//! Without compose-runtime's `serve` feature no request is ever made (nothing links
//! `wasi:http`), and [`Outgoing`] only holds the store's secrets.

#[cfg(feature = "serve")]
use std::sync::Arc;

#[cfg(feature = "serve")]
use http_body_util::BodyExt;
#[cfg(feature = "serve")]
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

use super::secrets_store::SecretsCtx;
#[cfg(feature = "serve")]
use crate::audit::Audit;

/// One store's outgoing-HTTP policy: the allowlist, the request id for log lines, and the
/// store's secrets (whose attached headers are added here).
pub(crate) struct Outgoing {
    #[cfg(feature = "serve")]
    pub(crate) allowed: Arc<Vec<String>>,
    #[cfg(feature = "serve")]
    pub(crate) request: u64,
    pub(crate) secrets: SecretsCtx,
    /// Where denied requests are recorded (by authority and reason: never a path, query or
    /// header value).
    #[cfg(feature = "serve")]
    pub(crate) audit: Audit,
}

/// The `host:port` a URI's request would connect to; empty (never allowed) when it has
/// userinfo, which would pass a check on the host while the connection goes elsewhere.
#[cfg(feature = "serve")]
fn authority(uri: &http::Uri) -> String {
    let userinfo = uri.authority().is_some_and(|a| a.as_str().contains('@'));
    match (uri.host(), uri.port_u16()) {
        _ if userinfo => String::new(),
        (Some(h), Some(p)) => format!("{}:{p}", h.to_ascii_lowercase()),
        (Some(h), None) if uri.scheme_str() == Some("http") => {
            format!("{}:80", h.to_ascii_lowercase())
        }
        (Some(h), None) => format!("{}:443", h.to_ascii_lowercase()),
        _ => String::new(),
    }
}

#[cfg(feature = "serve")]
impl Outgoing {
    /// Records a denied request in the audit log: its authority (`host:port` as the URI
    /// parser read it, at most 261 bytes: never a path, query or header), the reason and the
    /// request id. A required log that failed stops a server by its watch ([`crate::serve`]).
    fn deny(&self, authority: &str, reason: &str) {
        let request = self.request.to_string();
        let authority = if authority.len() <= 261 {
            authority
        } else {
            "(too long)"
        };
        let _ = self.audit.caused(
            "http.denied",
            &[
                ("authority", authority),
                ("reason", reason),
                ("request", &request),
            ],
        );
    }
}

#[cfg(feature = "serve")]
type Io = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

#[cfg(feature = "serve")]
impl WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Io,
    ) -> Box<dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, Io)>> + Send>
    {
        drop(fut);
        let uri = request.uri();
        let authority = authority(uri);
        if !self.allowed.contains(&authority) {
            eprintln!(
                "request {}: outgoing HTTP to `{authority}` denied: not on the plan's `http` allowlist",
                self.request
            );
            self.deny(&authority, "not-allowed");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let https = uri.scheme_str() == Some("https");
        let local = uri.host().is_some_and(super::secrets_store::is_loopback);
        let mut request = request;
        let secret_headers: Vec<_> = self
            .secrets
            .headers
            .iter()
            .filter(|h| h.authority == authority)
            .collect();
        if !secret_headers.is_empty() {
            // A secret goes out encrypted, or not off this machine; and never in a TRACE, whose
            // answer repeats the request's headers back to the guest.
            if !(https || local) || request.method() == http::Method::TRACE {
                eprintln!(
                    "request {}: outgoing HTTP to `{authority}` denied: it would carry a secret {}",
                    self.request,
                    if request.method() == http::Method::TRACE {
                        "in a TRACE request"
                    } else {
                        "over plain http to another machine"
                    }
                );
                self.deny(&authority, "would-carry-secret");
                return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
            }
            for h in secret_headers {
                request
                    .headers_mut()
                    .insert(h.name.clone(), h.value.clone());
            }
        }
        Box::new(async move {
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((res.map(BodyExt::boxed_unsync), Box::new(io) as Io))
        })
    }
}
