//! Every way into the runtime (`Runtime::run`, `Runtime::instantiate`, an embedded composition's
//! `Builder::load`, and `serve_with`) refuses a plan that asks for what this host does not
//! implement (E0214), before compiling or running anything; and a host is not given what the
//! plan would leave unused (an audit log the plan does not name, E0801).

use compose_model::Code;
use compose_model::plan::{self, Plan};
use compose_runtime::{Embedded, HostPolicy, Runtime, ServeOptions};

const GREET: &str = "package example:greet@1.0.0;
interface greeter { greet: func(name: string) -> string; }
world provider { export greeter; }
";

/// A plan of one component (whose bytes are never looked at) with `extra` appended.
fn plan(extra: &str) -> Plan {
    let text = format!(
        "name = \"greeter\"\n[components.greeter]\npath = \"greeter.wasm\"\nexports = [\"example:greet/greeter\"]\n[exports]\n\"example:greet/greeter\" = \"greeter\"\n{extra}"
    );
    plan::from_toml(&text).unwrap_or_else(|d| panic!("{}", plan::render("t", Some(&text), &d)))
}

const UNSUPPORTED: &[&str] = &[
    "[policy]\ntenant = \"acme\"\n",
    "[observability]\nmetrics = true\n",
    "[observability]\naudit = \"stderr\"\n",
    "[observability]\nattest = true\n",
    "[components.greeter.trust]\nsigners = [{ pkcs11 = \"release\" }]\n",
];

/// A plan that requires signed inputs runs only where something says they were checked: the
/// emit that made the composition (`inputs_checked_at_emit`; embedded compositions declare it
/// themselves). A bare `Runtime::run` of some composed bytes is refused (E0701), never run as
/// if the requirement were met.
#[test]
fn signed_inputs_are_not_assumed() {
    let component = compose_wit::testing::component_from_wit(&[("greet.wit", GREET)], "provider");
    let p = plan(
        "[components.greeter.trust]\nrequire-signature = true\nsigners = [{ key = \"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\" }]\n",
    );
    let rt = Runtime::new(&p.policy).unwrap();
    let refused = rt
        .run(&p, &component, &[], &HostPolicy::default())
        .unwrap_err();
    assert_eq!(refused.code, Code::TrustUnsigned, "{refused}");
    let compiled = rt.compile(&component).unwrap().0;
    let inst = rt
        .instantiate(&p, &compiled, &HostPolicy::default())
        .err()
        .unwrap();
    assert_eq!(inst.code, Code::TrustUnsigned, "{inst}");
    // Declared checked, the run gets past the requirement (this component exports no
    // `wasi:cli/run`, so it then fails for that reason).
    let checked = HostPolicy::default().inputs_checked_at_emit();
    let ran = rt.run(&p, &component, &[], &checked).unwrap_err();
    assert_ne!(ran.code, Code::TrustUnsigned, "{ran}");
}

#[test]
fn every_entry_point_refuses_what_the_host_does_not_implement() {
    let component = compose_wit::testing::component_from_wit(&[("greet.wit", GREET)], "provider");
    let component: &'static [u8] = Box::leak(component.into_boxed_slice());
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    for extra in UNSUPPORTED {
        let p = plan(extra);
        let rt = Runtime::new(&p.policy).unwrap();
        let host = HostPolicy::default();
        let run = rt.run(&p, component, &[], &host).unwrap_err();
        assert_eq!(run.code, Code::PlanNotImplemented, "{extra}: {run}");
        let compiled = rt.compile(component).unwrap().0;
        let inst = rt.instantiate(&p, &compiled, &host).err().unwrap();
        assert_eq!(inst.code, Code::PlanNotImplemented, "{extra}: {inst}");
        let cbor: &'static [u8] = Box::leak(p.to_cbor().into_boxed_slice());
        let embedded = Embedded::new(
            "greeter",
            cbor,
            leak(compose_model::Digest::of(cbor).to_string()),
            component,
            leak(compose_model::Digest::of(component).to_string()),
        );
        let load = embedded.builder().load().err().unwrap();
        assert_eq!(load.code, Code::PlanNotImplemented, "{extra}: {load}");
        let (_handle, signal) = compose_runtime::shutdown_channel();
        let served = compose_runtime::serve_with(
            &p,
            component,
            &host,
            &ServeOptions::new("127.0.0.1:0".parse().unwrap()),
            |_| panic!("a server started for a plan this host cannot keep"),
            signal,
        )
        .unwrap_err();
        assert_eq!(served.code, Code::PlanNotImplemented, "{extra}: {served}");
    }
}

/// `exec serve` never hands a request the server's standard input: a component that requires
/// it (or `stdio`) is refused before the server starts; an optional request is left out.
#[test]
fn a_server_refuses_a_component_that_requires_stdin() {
    let component = compose_wit::testing::component_from_wit(&[("greet.wit", GREET)], "provider");
    for (request, refused) in [
        ("stdin = \"required\"", true),
        ("stdio = \"required\"", true),
        ("stdout = \"required\"", false),
    ] {
        let grant = request.split(' ').next().unwrap();
        let p = plan(&format!(
            "[components.greeter.capabilities]\n{request}\n[grants]\n{grant} = true\n"
        ));
        let (handle, signal) = compose_runtime::shutdown_channel();
        let served = compose_runtime::serve_with(
            &p,
            &component,
            &HostPolicy::default(),
            &ServeOptions::new("127.0.0.1:0".parse().unwrap()),
            |_| handle.shutdown(),
            signal,
        );
        match served {
            Err(e) if refused => {
                assert_eq!(e.code, Code::ExecCapabilityRefused, "{request}: {e}");
                assert!(e.message.contains("standard input"), "{request}: {e}");
            }
            // Past the capability check, this component (which is no HTTP handler) is refused
            // for what it exports, never for its standard streams.
            Err(e) => assert_eq!(e.code, Code::ExecInvalidComponent, "{request}: {e}"),
            Ok(()) => panic!("{request}: a component that is not an HTTP handler was served"),
        }
    }
}

/// Attestation evidence names the component that runs, so an entry point given compiled code
/// only (`Runtime::instantiate`, `run_component`) cannot attest: a plan granting `attest` is
/// refused there (E0214), never attested with a component nobody checked. `Runtime::run`, which
/// has the bytes, gets past that.
#[test]
fn attesting_needs_the_component_itself() {
    let component = compose_wit::testing::component_from_wit(&[("greet.wit", GREET)], "provider");
    let p =
        plan("[components.greeter.capabilities]\nattest = \"required\"\n[grants]\nattest = true\n");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("host.key");
    compose_runtime::trust::keys::generate(&key).unwrap();
    let signer = || -> Box<dyn compose_runtime::trust::Signer + Send> {
        Box::new(compose_runtime::trust::SigningKey::read(&key).unwrap())
    };
    let host = HostPolicy::default().attestation_key(signer());
    let rt = Runtime::new(&p.policy).unwrap();
    let compiled = rt.compile(&component).unwrap().0;
    let inst = rt.instantiate(&p, &compiled, &host).err().unwrap();
    assert_eq!(inst.code, Code::PlanNotImplemented, "{inst}");
    assert!(inst.message.contains("compiled code only"), "{inst}");
    let ran = rt.run_component(&p, &compiled, &[], &host).unwrap_err();
    assert_eq!(ran.code, Code::PlanNotImplemented, "{ran}");
    // With the bytes, the attestation is set up (this component exports no `wasi:cli/run`,
    // so the run then fails for that reason).
    let ran = rt.run(&p, &component, &[], &host).unwrap_err();
    assert_eq!(ran.code, Code::ExecInvalidComponent, "{ran}");
    assert!(ran.message.contains("wasi:cli/run"), "{ran}");
    // Without a key, a required `attest` does not start.
    let keyless = rt
        .run(&p, &component, &[], &HostPolicy::default())
        .unwrap_err();
    assert_eq!(keyless.code, Code::ExecCapabilityRefused, "{keyless}");
}

/// A host given an audit log for a plan that names none is refused (E0801): the log would stay
/// empty, and the host would believe the run audited.
#[test]
fn an_audit_log_the_plan_does_not_name_is_refused() {
    use compose_runtime::audit::AuditLog;
    use compose_runtime::compose_audit::{Key, Options};
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = Key::generate("test-audit").unwrap();
    let log = AuditLog::open(
        &dir.path().join("audit.log"),
        Key::parse(&key).unwrap(),
        Options::default(),
    )
    .unwrap();
    let component = compose_wit::testing::component_from_wit(&[("greet.wit", GREET)], "provider");
    let p = plan("");
    let rt = Runtime::new(&p.policy).unwrap();
    let compiled = rt.compile(&component).unwrap().0;
    let err = rt
        .instantiate(&p, &compiled, &HostPolicy::default().audit_log(log))
        .err()
        .expect("a log the plan does not name is refused");
    assert_eq!(err.code, Code::AuditSink, "{err}");
    assert!(err.message.contains("the plan names none"), "{err}");
}
