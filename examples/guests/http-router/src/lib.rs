//! Routes HTTP requests (`wasi:http/incoming-handler`); the greeting itself comes from the
//! imported `example:greet/greeter`, so serving it needs a composition of two components.
//!
//! | path | response |
//! |---|---|
//! | `/hello/<name>` | 200, the greeter's greeting for `<name>` |
//! | `/` | 200, a list of the routes |
//! | `/panic` | the guest panics (the host answers 500) |
//! | `/loop` | the guest loops forever (the host's deadline stops it: 500) |
//! | `/sleep` | the guest sleeps an hour in the host (the deadline cancels the wait: 500) |
//! | `/alloc` | the guest allocates until the memory limit stops it (500) |
//! | `/fetch/<authority>` | an outgoing `GET http://<authority>/`: 200 with the status, or 502 with the error |
//! | `/probe/<what>/<arg>` | 200 with `allowed: …` or `denied: …`: try what the policy probe guest tries (`env`, `read-file`, `tcp`, `clock`, `random`, `stdin`, `stdout`, `args`) from inside a request |
//! | anything else | 404 |

wit_bindgen::generate!({
    world: "greeter-user",
    path: "../wit",
});

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};

struct Router;

impl wasip2::exports::http::incoming_handler::Guest for Router {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, body) = route(&path);
        respond(out, status, body.as_bytes());
    }
}

wasip2::http::proxy::export!(Router);

fn route(path: &str) -> (u16, String) {
    if let Some(name) = path.strip_prefix("/hello/") {
        return (200, example::greet::greeter::greet(name) + "\n");
    }
    match path {
        "/" => (200, "routes: /hello/<name>\n".into()),
        "/panic" => panic!("the router was asked to panic"),
        "/loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "/sleep" => {
            // Waits in the host (a monotonic-clock pollable) for an hour.
            std::thread::sleep(std::time::Duration::from_secs(3600));
            (200, "slept\n".into())
        }
        "/alloc" => {
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            loop {
                blocks.push(vec![1; 1 << 20]);
                std::hint::black_box(&blocks);
            }
        }
        _ => {
            if let Some(rest) = path.strip_prefix("/probe/") {
                let (what, arg) = rest.split_once('/').unwrap_or((rest, ""));
                return (200, probe(what, arg));
            }
            match path.strip_prefix("/fetch/") {
                Some(authority) => fetch(authority),
                None => (404, format!("no route for {path}\n")),
            }
        }
    }
}

/// Tries one thing a deny-by-default host decides on, as the `probe` guest does, and says
/// whether it worked. `stdout` and `stderr` print a marker the test looks for in the server's
/// output.
fn probe(what: &str, arg: &str) -> String {
    use std::io::{Read, Write};
    let result: Result<String, String> = match what {
        "env" => std::env::var(arg)
            .map(|v| format!("{arg}={v}"))
            .map_err(|e| e.to_string()),
        "read-file" => std::fs::read(format!("/{arg}"))
            .map(|b| format!("read {} bytes", b.len()))
            .map_err(|e| e.to_string()),
        "tcp" => std::net::TcpStream::connect(arg)
            .map(|_| "connected".to_owned())
            .map_err(|e| e.to_string()),
        "clock" => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())
            .and_then(|d| {
                if d.as_secs() == 0 {
                    Err("the clock is fixed at the epoch".into())
                } else {
                    Ok("the clock is real".into())
                }
            }),
        "random" => {
            use std::hash::BuildHasher;
            let v = std::collections::hash_map::RandomState::new().hash_one(42u8);
            Ok(format!("random {v}"))
        }
        "stdin" => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map(|n| format!("read {n} bytes from stdin"))
                .map_err(|e| e.to_string())
        }
        "stdout" => writeln!(std::io::stdout(), "probe-marker {arg}")
            .and_then(|()| std::io::stdout().flush())
            .map(|()| "printed".to_owned())
            .map_err(|e| e.to_string()),
        "stderr" => writeln!(std::io::stderr(), "probe-marker {arg}")
            .map(|()| "printed".to_owned())
            .map_err(|e| e.to_string()),
        "args" => Ok(format!("{} args", std::env::args().count())),
        other => Err(format!("unknown probe `{other}`")),
    };
    match result {
        Ok(what) => format!("allowed: {what}\n"),
        Err(why) => format!("denied: {why}\n"),
    }
}

/// An outgoing `GET http://<authority>/`; the host decides whether it may leave.
fn fetch(authority: &str) -> (u16, String) {
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_method(&Method::Get);
    let _ = request.set_scheme(Some(&Scheme::Http));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some("/"));
    let response = match outgoing_handler::handle(request, None) {
        Ok(future) => {
            future.subscribe().block();
            match future.get() {
                Some(Ok(Ok(response))) => Ok(response.status()),
                Some(Ok(Err(code))) => Err(format!("{code:?}")),
                _ => Err("no response".into()),
            }
        }
        Err(code) => Err(format!("{code:?}")),
    };
    match response {
        Ok(status) => (200, format!("{authority} answered {status}\n")),
        Err(e) => (502, format!("request to {authority} failed: {e}\n")),
    }
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"text/plain; charset=utf-8".to_vec()]);
    let response = OutgoingResponse::new(headers);
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
