//! The rules of canonical WIT identity, one test each: what must not change an id, what must,
//! and agreement between WIT source and the WIT decoded from a compiled component.

use compose_model::Digest;
use compose_wit::{Item, Wit};

fn wit(text: &str) -> Wit {
    Wit::from_str("test.wit", text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The id of `item` (or of the package) in `text`.
fn id(text: &str, item: Option<&str>) -> Digest {
    let w = wit(text);
    let item = match item {
        Some(n) => w.find(n).unwrap(),
        None => Item::Package(w.package()),
    };
    w.id(item)
}

const BASE: &str = r#"
package example:greet@1.0.0;

/// Greetings.
interface greeter {
    record options { loud: bool, times: u32 }
    enum tone { warm, dry }
    variant reply { text(string), silence }
    flags style { bold, italic }
    greet: func(name: string, opts: options) -> reply;
    tones: func() -> list<tone>;
}

interface clock {
    now: func() -> u64;
}

world app {
    import greeter;
    export clock;
}
"#;

fn same(a: &str, b: &str, item: Option<&str>) {
    assert_eq!(
        id(a, item),
        id(b, item),
        "ids differ for {item:?}:\n{a}\n---\n{b}"
    );
}

fn differ(a: &str, b: &str, item: Option<&str>) {
    assert_ne!(
        id(a, item),
        id(b, item),
        "ids agree for {item:?}:\n{a}\n---\n{b}"
    );
}

#[test]
fn comments_docs_and_whitespace_do_not_matter() {
    let changed = BASE
        .replace(
            "/// Greetings.\n",
            "// a comment\n/// Other docs.\n/* block */\n",
        )
        .replace(
            "    greet: func(",
            "\n\n    /// Says hello.\n        greet  :  func(",
        );
    for item in [None, Some("greeter"), Some("app")] {
        same(BASE, &changed, item);
    }
}

#[test]
fn order_of_items_does_not_matter() {
    let reordered = r#"
package example:greet@1.0.0;
world app {
    export clock;
    import greeter;
}
interface clock { now: func() -> u64; }
interface greeter {
    tones: func() -> list<tone>;
    greet: func(name: string, opts: options) -> reply;
    flags style { bold, italic }
    variant reply { text(string), silence }
    enum tone { warm, dry }
    record options { loud: bool, times: u32 }
}
"#;
    for item in [None, Some("greeter"), Some("clock"), Some("app")] {
        same(BASE, reordered, item);
    }
}

#[test]
fn every_change_of_shape_changes_the_id() {
    let changes = [
        ("name: string, opts", "name: u32, opts"), // parameter type
        ("name: string, opts", "who: string, opts"), // parameter name
        ("-> reply;", "-> option<reply>;"),        // result type
        ("greet: func(", "hello: func("),          // function name
        ("record options", "record settings"),     // type name…
        ("loud: bool, times: u32", "times: u32, loud: bool"), // record field order
        ("enum tone { warm, dry }", "enum tone { dry, warm }"), // enum case order
        ("enum tone { warm, dry }", "enum tone { warm, cold }"), // enum case name
        ("enum tone { warm, dry }", "enum tone { warm, dry, wet }"), // case added
        ("text(string), silence", "text(u8), silence"), // case payload
        ("text(string), silence", "text(string)"), // case removed
        (
            "flags style { bold, italic }",
            "flags style { italic, bold }",
        ), // flags order
        ("tones: func() -> list<tone>;", ""),      // function removed
        ("tones: func()", "tones: async func()"),  // async
    ];
    for (from, to) in changes {
        let changed = BASE.replacen(from, to, 1).replace(
            "opts: options",
            if from == "record options" {
                "opts: settings"
            } else {
                "opts: options"
            },
        );
        differ(BASE, &changed, Some("greeter"));
        differ(BASE, &changed, None);
        differ(BASE, &changed, Some("app"));
    }
}

#[test]
fn package_name_and_version_are_part_of_the_id() {
    for changed in [
        BASE.replace("example:greet@1.0.0", "example:greet@1.0.1"),
        BASE.replace("example:greet@1.0.0", "example:greeting@1.0.0"),
        BASE.replace("example:greet@1.0.0", "other:greet@1.0.0"),
        BASE.replace("example:greet@1.0.0", "example:greet"),
    ] {
        differ(BASE, &changed, Some("greeter"));
        differ(BASE, &changed, None);
    }
}

#[test]
fn import_versus_export_matters_in_a_world() {
    let swapped = BASE.replace(
        "import greeter;\n    export clock;",
        "export greeter;\n    import clock;",
    );
    differ(BASE, &swapped, Some("app"));
    same(BASE, &swapped, Some("greeter"));
}

#[test]
fn a_sibling_change_never_changes_an_unrelated_interface() {
    let changed = BASE.replace("now: func() -> u64;", "now: func() -> u32; later: func();");
    same(BASE, &changed, Some("greeter"));
    differ(BASE, &changed, Some("clock"));
    differ(BASE, &changed, Some("app"));
}

const USES: &str = r#"
package example:types@2.0.0;
interface shapes {
    record point { x: s32, y: s32 }
    record size { w: u32, h: u32 }
    area: func(s: size) -> u64;
}
interface canvas {
    use shapes.{point};
    dot: func(at: point);
}
"#;

#[test]
fn use_brings_in_only_what_is_used() {
    // Changing a function or an unused type of `shapes` leaves `canvas` alone…
    same(
        USES,
        &USES.replace("area: func(s: size) -> u64;", "area: func(s: size) -> u32;"),
        Some("canvas"),
    );
    same(
        USES,
        &USES.replace(
            "record size { w: u32, h: u32 }",
            "record size { h: u32, w: u32 }",
        ),
        Some("canvas"),
    );
    // …changing the used type changes it.
    differ(
        USES,
        &USES.replace(
            "record point { x: s32, y: s32 }",
            "record point { y: s32, x: s32 }",
        ),
        Some("canvas"),
    );
    differ(
        USES,
        &USES.replace(
            "record point { x: s32, y: s32 }",
            "record point { x: s64, y: s32 }",
        ),
        Some("canvas"),
    );
}

#[test]
fn resources_and_handles() {
    let base = r#"
package example:files@1.0.0;
interface files {
    resource file {
        constructor(path: string);
        read: func(len: u32) -> list<u8>;
        open: static func(path: string) -> file;
    }
    copy: func(src: borrow<file>, dst: own<file>);
}
"#;
    for (from, to) in [
        ("src: borrow<file>", "src: own<file>"),
        ("read: func(len: u32)", "read: func(len: u64)"),
        ("read: func(", "peek: func("),
        ("open: static func", "open: func"),
        ("constructor(path: string);", ""),
    ] {
        differ(base, &base.replacen(from, to, 1), Some("files"));
    }
    same(base, &base.replace("        read: func(len: u32) -> list<u8>;\n        open: static func(path: string) -> file;\n", "        open: static func(path: string) -> file;\n        read: func(len: u32) -> list<u8>;\n"), Some("files"));
}

#[test]
fn use_across_packages_from_a_directory_with_deps() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("app");
    std::fs::create_dir_all(main.join("deps/types")).unwrap();
    std::fs::write(main.join("deps/types/types.wit"), USES).unwrap();
    std::fs::write(
        main.join("app.wit"),
        "package example:app@0.1.0;\ninterface draw {\n  use example:types/shapes@2.0.0.{point};\n  line: func(a: point, b: point);\n}\n",
    )
    .unwrap();
    let w = Wit::from_path(&main).unwrap();
    let draw = w.id(w.find("draw").unwrap());
    // A qualified name finds the dependency's interface too.
    let shapes = w.id(w.find("example:types/shapes@2.0.0").unwrap());
    assert_eq!(shapes, id(USES, Some("shapes")));
    // Changing the used type in the dependency changes `draw`.
    std::fs::write(
        main.join("deps/types/types.wit"),
        USES.replace("x: s32, y: s32", "x: f64, y: f64"),
    )
    .unwrap();
    let w2 = Wit::from_path(&main).unwrap();
    assert_ne!(w2.id(w2.find("draw").unwrap()), draw);
}

#[test]
fn errors_carry_codes_and_places() {
    let e = Wit::from_str(
        "bad.wit",
        "package a:b;\ninterface x { f: func() -> strin; }\n",
    )
    .err()
    .unwrap();
    assert_eq!(e.code(), Some(compose_model::Code::WitInvalid));
    assert!(e.to_string().contains("bad.wit:2:28"), "{e}");
    let e = wit(BASE).find("nope").err().unwrap();
    assert_eq!(e.code(), Some(compose_model::Code::WitNoSuchItem));
    assert!(e.to_string().contains("`greeter`"), "{e}");
    for bytes in [
        &b"\0asm\x01\0\0\0"[..],
        b"\0asm\x0d\0\x01\0\xff\xff",
        b"not wasm",
    ] {
        let e = Wit::from_component("x.wasm", bytes).err().unwrap();
        assert_eq!(e.code(), Some(compose_model::Code::WitNotComponent));
    }
}

/// Builds a real component for `world` (a core module that imports and exports everything the
/// world names) and decodes its WIT back.
fn compiled(text: &str, world: &str) -> Wit {
    let w = wit(text);
    let world = match w.find(world).unwrap() {
        Item::World(id) => id,
        other => panic!("{other:?} is not a world"),
    };
    let component = compose_wit::testing::component_for_world(w.resolve(), world);
    wasmparser::Validator::new()
        .validate_all(&component)
        .unwrap();
    Wit::from_component("compiled.wasm", &component).unwrap()
}

#[test]
fn source_and_compiled_component_agree() {
    let text = r#"
package example:greet@1.0.0;
interface types {
    record options { loud: bool, times: u32 }
}
interface greeter {
    use types.{options};
    resource session {
        constructor(user: string);
        say: func(what: string) -> result<string, u32>;
    }
    variant reply { text(string), silence }
    greet: func(name: string, opts: options) -> reply;
    open: func(s: borrow<session>) -> list<tuple<u8, option<string>>>;
}
interface clock {
    enum unit { s, ms }
    now: func(u: unit) -> u64;
}
world app {
    import greeter;
    export clock;
}
"#;
    let source = wit(text);
    let decoded = compiled(text, "app");
    for name in ["example:greet/greeter@1.0.0", "example:greet/clock@1.0.0"] {
        let a = source.id(source.find(name).unwrap());
        let b = decoded.id(decoded.find(name).unwrap());
        assert_eq!(a, b, "{name}: source and compiled component disagree");
    }
}
