//! The secret-backend hooks of an embedded composition's builder: a host registers its own
//! backend for a scheme (here replacing the built-in `env:` one), a required secret whose scheme
//! has no backend (`pkcs11:`, which is not built in) stops the load, revealing needs the
//! host's leave, and a backend that takes too long does not outlast the plan's deadline, nor
//! gather threads when it stalls.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use compose_model::Code;
use compose_runtime::Embedded;
use compose_runtime::secrets::{Algorithm, Secret, SecretBackend, SecretError};

/// The `secret-probe` guest composed under a plan whose token `api-key` is `reference`,
/// embedded as `compose!` would embed it.
fn embedded(reference: &str) -> Embedded {
    embedded_with(reference, "")
}

/// [`embedded`] with `extra` TOML at the end of the plan.
fn embedded_with(reference: &str, extra: &str) -> Embedded {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = compose_build::build_guests(
        &root.join("examples/guests/Cargo.toml"),
        &["secret-probe"],
        &root.join("target/guests"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        r#"name = "secrets"
[components.probe]
path = {:?}
exports = ["wasi:cli/run"]
imports = {{ "std:secrets/store" = {{ host = "secrets" }}, "std:secrets/operations" = {{ host = "secrets" }} }}
capabilities = {{ stdio = "required", args = "required", secrets = ["api-key"] }}
[exports]
"wasi:cli/run" = "probe"
[grants]
stdio = true
args = true
[secrets]
api-key = "{reference}"
{extra}"#,
        built["secret-probe"].display().to_string()
    );
    let plan = compose_model::plan::from_toml(&text).unwrap();
    let component = compose_build::emit_plan(&plan, Path::new("."), &Default::default())
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .bytes;
    let leak = |b: Vec<u8>| -> &'static [u8] { Box::leak(b.into_boxed_slice()) };
    let digest = |b: &[u8]| -> &'static str {
        Box::leak(compose_model::Digest::of(b).to_string().into_boxed_str())
    };
    let (plan, component) = (leak(plan.to_cbor()), leak(component));
    Embedded::new("secrets", plan, digest(plan), component, digest(component))
}

/// A backend keeping its secrets in memory, recording what it was asked.
#[derive(Clone, Default)]
struct Memory {
    asked: Arc<Mutex<Vec<String>>>,
}

impl SecretBackend for Memory {
    fn read(&self, reference: &str) -> Result<Secret, SecretError> {
        self.asked.lock().unwrap().push(format!("read {reference}"));
        match reference {
            "GREETING" => Ok(Secret::new(b"hello".to_vec())),
            other => Err(SecretError::NotFound(format!("no `{other}` in memory"))),
        }
    }

    fn sign(
        &self,
        reference: &str,
        algorithm: Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, SecretError> {
        self.asked.lock().unwrap().push(format!(
            "sign {reference} {} {}",
            algorithm.as_str(),
            String::from_utf8_lossy(data)
        ));
        Ok(vec![0; 64])
    }
}

#[test]
fn a_registered_backend_serves_the_scheme_and_revealing_needs_leave() {
    // No backend for `pkcs11:`: the load stops before anything runs.
    let hsm = embedded("pkcs11:token=demo;object=greeting");
    let err = hsm
        .builder()
        .load()
        .err()
        .expect("no backend for `pkcs11:`");
    assert_eq!(err.code, Code::ExecCapabilityRefused);
    assert!(
        err.message.contains("no backend for `pkcs11:` secrets"),
        "{err}"
    );
    // The hint names what provides one.
    assert!(
        err.message
            .contains("`secrets::Pkcs11Backend`, compose-runtime's `pkcs11` feature"),
        "{err}"
    );

    // `env:GREETING` from the registered backend, not from the environment (which has none).
    let e = embedded("env:GREETING");
    let memory = Memory::default();
    let c = e
        .builder()
        .secret_backend("env", memory.clone())
        .load()
        .unwrap();
    // Signing goes to the backend; Ed25519 too, since this backend offers it.
    assert_eq!(c.run(&["sign-ed25519", "api-key", "data"]).unwrap(), 0);
    assert_eq!(c.run(&["sign", "api-key", "more"]).unwrap(), 0);
    // Not revealed without leave: the backend is not even asked.
    assert_eq!(c.run(&["reveal", "api-key"]).unwrap(), 1);
    assert_eq!(
        *memory.asked.lock().unwrap(),
        [
            "sign GREETING ed25519 data",
            "sign GREETING hmac-sha256 more"
        ]
    );

    let c = e
        .builder()
        .secret_backend("env", memory.clone())
        .reveal("api-key")
        .load()
        .unwrap();
    assert_eq!(c.run(&["reveal", "api-key"]).unwrap(), 0);
    assert_eq!(
        memory.asked.lock().unwrap().last().unwrap(),
        "read GREETING"
    );
}

/// A backend that answers after a minute.
struct Slow;

impl SecretBackend for Slow {
    fn read(&self, _: &str) -> Result<Secret, SecretError> {
        std::thread::sleep(Duration::from_secs(60));
        Ok(Secret::new(b"late".to_vec()))
    }

    fn sign(&self, _: &str, _: Algorithm, _: &[u8]) -> Result<Vec<u8>, SecretError> {
        std::thread::sleep(Duration::from_secs(60));
        Ok(vec![0; 32])
    }
}

#[test]
fn a_slow_backend_does_not_outlast_the_deadline() {
    let e = embedded_with("env:GREETING", "[policy]\ntimeout-ms = 300\n");
    let c = e
        .builder()
        .secret_backend("env", Slow)
        .reveal("api-key")
        .load()
        .unwrap();
    for (args, waited_in) in [
        (
            &["sign", "api-key", "data"][..],
            "`std:secrets/operations.sign`",
        ),
        (
            &["reveal", "api-key"][..],
            "`std:secrets/store.token.reveal`",
        ),
    ] {
        let start = Instant::now();
        let err = c.run(args).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.code, Code::ExecTimeout, "{err}");
        assert!(err.message.contains(waited_in), "{err}");
        assert!(took < Duration::from_secs(30), "{args:?} took {took:?}");
    }
}

/// Backend calls cut off at their deadline go on on threads of their own; a stalled backend
/// does not gather them without end: past 64 at once, a use traps at once (the message says
/// the backend seems stalled) instead of starting another thread.
#[test]
fn a_stalled_backend_does_not_gather_threads() {
    let e = embedded_with("env:GREETING", "[policy]\ntimeout-ms = 50\n");
    let c = e.builder().secret_backend("env", Slow).load().unwrap();
    // Other tests of this binary may hold a few such threads too: the limit comes within 64
    // uses at the most.
    for used in 1..=65 {
        let err = c.run(&["sign", "api-key", "data"]).unwrap_err();
        if err.message.contains("still running past their deadlines") {
            assert_ne!(err.code, Code::ExecTimeout, "{err}");
            assert!(used > 60, "refused after {used} uses: {err}");
            return;
        }
        assert_eq!(err.code, Code::ExecTimeout, "{err}");
    }
    panic!("65 uses of a stalled backend all started a thread");
}

/// A backend that panics on its own thread (under a deadline) stops the run with a trap
/// saying so; the host carries on.
#[test]
fn a_panicking_backend_under_a_deadline_is_a_trap() {
    struct Panics;
    impl SecretBackend for Panics {
        fn read(&self, _: &str) -> Result<Secret, SecretError> {
            panic!("the backend fails on purpose")
        }
    }
    let e = embedded_with("env:GREETING", "[policy]\ntimeout-ms = 5000\n");
    let c = e.builder().secret_backend("env", Panics).load().unwrap();
    let err = c.run(&["sign", "api-key", "data"]).unwrap_err();
    assert_eq!(err.code, Code::ExecTrap, "{err}");
    assert!(err.message.contains("the secret backend panicked"), "{err}");
}
