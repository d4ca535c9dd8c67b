//! Plan reading, checking and encoding, through the public API.

use compose_model::Code;
use compose_model::cbor;
use compose_model::plan::{self, Binding, Need, Plan, Source};

const HELLO: &str = include_str!("../../examples/plans/hello.toml");

fn codes(result: Result<Plan, Vec<plan::Diagnostic>>) -> Vec<Code> {
    result
        .expect_err("the plan should be invalid")
        .iter()
        .map(|d| d.code)
        .collect()
}

#[test]
fn example_plan_is_valid_and_reads_as_written() {
    let p = plan::from_toml(HELLO).unwrap();
    assert_eq!(p.name.as_deref(), Some("hello"));
    assert_eq!(
        p.components["greeter"].source,
        Source::Crate("greeter".into())
    );
    let app = &p.components["app"];
    assert!(
        matches!(&app.imports["example:greet/greeter"], Binding::Component(w) if w.component == "greeter")
    );
    assert_eq!(app.capabilities.stdout, Some(Need::Required));
    assert_eq!(app.capabilities.stdin, None);
    assert_eq!(app.capabilities.clocks, Some(Need::Optional));
    assert_eq!(p.policy.memory, Some(64 * 1024 * 1024));
}

#[test]
fn toml_cbor_toml_cbor_is_byte_identical() {
    let p = plan::from_toml(HELLO).unwrap();
    let cbor1 = p.to_cbor();
    assert_eq!(cbor::check(&cbor1), Ok(()));
    let from_cbor = plan::from_cbor(&cbor1).unwrap();
    assert_eq!(from_cbor, p);
    let toml2 = from_cbor.to_toml();
    let cbor2 = plan::from_toml(&toml2).unwrap().to_cbor();
    assert_eq!(cbor1, cbor2);
    assert_eq!(p.digest(), compose_model::Digest::of(&cbor1));
}

#[test]
fn shorthands_and_long_forms_have_one_digest() {
    let short = r#"
        [components.g]
        path = "g.wasm"
        exports = ["a:b/c"]
        [components.app]
        path = "app.wasm"
        imports = { "a:b/c" = "g" }
        capabilities = { stdio = "required", env = ["HOME"] }
        [grants]
        stdio = true
        env = ["HOME"]
    "#;
    let long = r#"
        schema = 1
        [grants]
        env = ["HOME"]
        stdio = true
        [components.app]
        path = "app.wasm"
        [components.app.imports."a:b/c"]
        component = "g"
        [components.app.capabilities]
        stdio = { need = "required" }
        env = { names = ["HOME"], need = "required" }
        [components.g]
        path = "g.wasm"
        [components.g.exports."a:b/c"]
    "#;
    let a = plan::from_toml(short).unwrap();
    let b = plan::from_toml(long).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_cbor(), b.to_cbor());
}

#[test]
fn every_error_is_collected_and_placed() {
    let src =
        "[components.app]\npath = 3\nbogus = 1\n[policy]\nmemory = 1\n[grants]\nargs = true\n";
    let diags = plan::from_toml(src).unwrap_err();
    let got: Vec<Code> = diags.iter().map(|d| d.code).collect();
    assert_eq!(
        got,
        [
            Code::PlanWrongType,
            Code::PlanUnknownField,
            Code::PlanLimitOutOfRange,
            Code::PlanUnusedGrant
        ]
    );
    for d in &diags {
        let span = d.span.clone().expect("every TOML error has a span");
        assert!(span.end <= src.len());
    }
    let (line, col) = plan::line_column(src, diags[0].span.clone().unwrap().start);
    assert_eq!((line, col), (2, 8));
    let rendered = plan::render("compose.toml", Some(src), &diags);
    assert!(rendered.contains("compose.toml:2:8"), "{rendered}");
    assert!(rendered.contains("error[E0103]"));
}

#[test]
fn unknown_field_suggests_the_closest() {
    let diags = plan::from_toml("[components.app]\npath = \"a.wasm\"\nimprts = {}\n").unwrap_err();
    assert_eq!(diags[0].code, Code::PlanUnknownField);
    assert_eq!(diags[0].help.as_deref(), Some("did you mean `imports`?"));
}

#[test]
fn missing_wire_names_the_chain_and_a_provider() {
    let src = r#"
        [components.greeter]
        path = "g.wasm"
        exports = ["example:greet/greeter"]
        [components.app]
        path = "app.wasm"
        imports = { "example:greet/greeter" = { component = "formatter" } }
    "#;
    let d = &plan::from_toml(src).unwrap_err()[0];
    assert_eq!(d.code, Code::PlanUnknownComponent);
    assert!(
        d.message.contains("`app` imports `example:greet/greeter`"),
        "{}",
        d.message
    );
    assert_eq!(d.path, "components.app.imports.\"example:greet/greeter\"");
}

/// Secrets are references: a plan cannot carry a secret value, and its serialized forms hold
/// only the reference.
#[test]
fn secret_values_are_refused_and_references_never_resolved() {
    let with_value = "[components.app]\npath = \"a.wasm\"\ncapabilities = { secrets = [\"db\"] }\n[secrets]\ndb = \"s3cr3t-password\"\n";
    assert!(codes(plan::from_toml(with_value)).contains(&Code::PlanBadValue));
    for bad in ["env:", "env:1BAD", "http://vault/secret", "literal:abc", ""] {
        let src = format!(
            "[components.app]\npath = \"a.wasm\"\ncapabilities = {{ secrets = [\"db\"] }}\n[secrets]\ndb = \"{bad}\"\n"
        );
        assert!(
            codes(plan::from_toml(&src)).contains(&Code::PlanBadValue),
            "{bad}"
        );
    }
    // The value of the referenced variable never enters the plan's bytes.
    let src = "[components.app]\npath = \"a.wasm\"\ncapabilities = { secrets = [\"db\"] }\n[secrets]\ndb = \"env:HOME\"\n";
    let p = plan::from_toml(src).unwrap();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let bytes = p.to_cbor();
    assert!(!bytes.windows(home.len()).any(|w| w == home.as_bytes()));
    assert!(p.to_toml().contains("env:HOME"));
}

/// Deny-by-default at the plan level: nothing is granted unless written under `[grants]`.
#[test]
fn nothing_is_granted_by_default() {
    for cap in [
        "stdio", "args", "clocks", "random", "metrics", "audit", "attest",
    ] {
        let src = format!(
            "[components.app]\npath = \"a.wasm\"\ncapabilities = {{ {cap} = \"required\" }}\n"
        );
        assert_eq!(
            codes(plan::from_toml(&src)),
            [Code::PlanCapabilityNotGranted],
            "{cap}"
        );
    }
    let src = "[components.app]\npath = \"a.wasm\"\ncapabilities = { env = [\"HOME\"], network = [\"127.0.0.1:80\"], http = [\"example.com\"], dirs = [\"/d\"] }\n";
    assert_eq!(codes(plan::from_toml(src)).len(), 4);
}

#[test]
fn cbor_plans_must_be_canonical() {
    let p = plan::from_toml(HELLO).unwrap();
    let mut bytes = p.to_cbor();
    // Rewrite the top-level map head as indefinite length: same content, not canonical.
    bytes[0] = 0xbf;
    bytes.push(0xff);
    assert_eq!(codes(plan::from_cbor(&bytes)), [Code::PlanNotCanonical]);
    assert_eq!(
        plan::from_cbor(&cbor::canonicalize(&bytes).unwrap()).unwrap(),
        p
    );
}

#[test]
fn plans_built_in_code_are_checked_the_same_way() {
    let mut p = Plan::new();
    let mut app = plan::Component::new(Source::Path("a.wasm".into()));
    app.imports
        .insert("a:b/c".into(), Binding::Component(plan::Wire::to("nobody")));
    p.components.insert("app".into(), app);
    let diags = plan::check(&p);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, Code::PlanUnknownComponent);
    assert_eq!(diags[0].span, None);
}

#[test]
fn serde_api_gives_canonical_bytes_and_checks_input() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Sample {
        zeta: u32,
        alpha: Vec<f64>,
        mid: std::collections::HashMap<String, i64>,
    }
    let s = Sample {
        zeta: 7,
        alpha: vec![1.5, 100000.0, 1.1, f64::INFINITY],
        mid: [("b".to_string(), -1), ("a".to_string(), 1000)]
            .into_iter()
            .collect(),
    };
    let bytes = cbor::to_canonical_vec(&s).unwrap();
    assert_eq!(cbor::check(&bytes), Ok(()));
    assert_eq!(
        cbor::diagnostic(&bytes).unwrap(),
        r#"{"mid": {"a": 1000, "b": -1}, "zeta": 7, "alpha": [1.5, 100000.0, 1.1, Infinity]}"#
    );
    let back: Sample = cbor::from_canonical_slice(&bytes).unwrap();
    assert_eq!(back, s);
    let mut plain = Vec::new();
    ciborium::into_writer(&s, &mut plain).unwrap();
    if plain != bytes {
        assert!(cbor::from_canonical_slice::<Sample>(&plain).is_err());
    }
}

/// The plan shown in the README is valid and is the example plan (comments aside).
#[test]
fn readme_plan_is_the_example() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```toml\n").expect("the README shows a plan") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let shown = plan::from_toml(&readme[start..end]).unwrap();
    assert_eq!(shown.digest(), plan::from_toml(HELLO).unwrap().digest());
}

/// A document built by another front end (the macro's tokens) can repeat a key, which TOML
/// and CBOR cannot: the repeat is `E0201` at the second key, reported once.
#[test]
fn a_repeated_key_in_a_document_is_a_duplicate_name() {
    use compose_model::plan::{Kind, Node, from_document};
    let node = |kind| Node { kind, span: None };
    let text = |s: &str| node(Kind::Str(s.into()));
    let greeter = |path: &str| {
        node(Kind::Table(vec![
            ("path".into(), None, text(path)),
            (
                "exports".into(),
                None,
                node(Kind::Array(vec![text("example:greet/greeter")])),
            ),
        ]))
    };
    let doc = node(Kind::Table(vec![
        (
            "components".into(),
            None,
            node(Kind::Table(vec![
                ("greeter".into(), None, greeter("a.wasm")),
                ("greeter".into(), Some(40..47), greeter("b.wasm")),
            ])),
        ),
        (
            "exports".into(),
            None,
            node(Kind::Table(vec![(
                "example:greet/greeter".into(),
                None,
                text("greeter"),
            )])),
        ),
    ]));
    let diags = from_document(&doc).unwrap_err();
    let dups: Vec<_> = diags
        .iter()
        .filter(|d| d.code == compose_model::Code::PlanDuplicateName)
        .collect();
    assert_eq!(dups.len(), 1, "{diags:?}");
    assert_eq!(dups[0].path, "components.greeter");
    assert_eq!(dups[0].span, Some(40..47));
}
