//! An HTTP handler (`wasi:http/incoming-handler`) that calls another service with a secret as
//! its credential: `GET /<token>/<authority>` opens the `std:secrets` token, asks the host to
//! attach it (`authorization: Bearer …`) to requests to `<authority>`, makes an outgoing
//! `GET http://<authority>/`, and answers with the upstream's status and body. The guest never
//! holds the secret's value; the host adds the header after the request leaves the guest.
//! When the host refuses, the answer is 403 with the host's error.
//!
//! `GET /<token>/<authority>/<other>` attaches the secret for `<authority>` but fetches from
//! `<other>` (which must not receive it).

use bindings::std::secrets::operations;
use bindings::std::secrets::store::Token;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};

/// In a module of its own: the WIT package's namespace, `std`, would shadow Rust's `std`.
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit/std-secrets", world: "std:secrets/secret-user" });
}

struct Fetch;

impl wasip2::exports::http::incoming_handler::Guest for Fetch {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let part = |i: usize| parts.get(i).copied().unwrap_or("");
        let (token, authority) = (part(0), part(1));
        let target = parts.get(2).copied().unwrap_or(authority);
        let (status, body) = match attach(token, authority) {
            Ok(()) => fetch(target),
            Err(e) => (403, format!("{e}\n").into_bytes()),
        };
        respond(out, status, &body);
    }
}

wasip2::http::proxy::export!(Fetch);

/// Asks the host to send the secret `token` with requests to `authority`.
fn attach(token: &str, authority: &str) -> Result<(), String> {
    let token = Token::open(token).map_err(|e| format!("{e:?}"))?;
    operations::add_http_header(&token, authority, "authorization", Some("Bearer"))
        .map_err(|e| format!("{e:?}"))
}

/// `GET http://<authority>/`: the upstream's status and body, or 502 with the error.
fn fetch(authority: &str) -> (u16, Vec<u8>) {
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_method(&Method::Get);
    let _ = request.set_scheme(Some(&Scheme::Http));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some("/"));
    let future = match outgoing_handler::handle(request, None) {
        Ok(f) => f,
        Err(code) => return (502, format!("{code:?}\n").into_bytes()),
    };
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(code))) => return (502, format!("{code:?}\n").into_bytes()),
        _ => return (502, b"no response\n".to_vec()),
    };
    let status = response.status();
    let mut body = Vec::new();
    if let Ok(incoming) = response.consume()
        && let Ok(stream) = incoming.stream()
    {
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            body.extend_from_slice(&chunk);
        }
    }
    (status, body)
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let response = OutgoingResponse::new(Fields::new());
    let _ = response.set_status_code(status);
    let outgoing = response.body().expect("a response has one body");
    ResponseOutparam::set(out, Ok(response));
    let stream = outgoing.write().expect("a body has one stream");
    for chunk in body.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .expect("the host accepts the body");
    }
    drop(stream);
    OutgoingBody::finish(outgoing, None).expect("the body finishes");
}
