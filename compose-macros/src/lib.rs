//! `compose!`: composes WebAssembly components at compile time.
//!
//! The macro reads a plan, written inline or in a file, checks it with the same checks as
//! `composectl` and `compose-build` (one model, one set of error codes), builds the guest
//! crates it names for `wasm32-wasip2`, composes them, precompiles the result, and expands to a
//! type that embeds the plan, the component and the code. Every mistake it can find is a
//! compile error at the offending token, with its stable code and what to do.
//!
//! Use it through `compose_runtime::compose!`:
//!
//! ```ignore
//! compose_runtime::compose! {
//!     name: "hello",
//!     workspace: "../guests",
//!     components: {
//!         greeter: { crate: "greeter", exports: ["example:greet/greeter"] },
//!         app: {
//!             crate: "app",
//!             exports: ["wasi:cli/run"],
//!             imports: { "example:greet/greeter": greeter },
//!             capabilities: { stdio: required, args: required },
//!         },
//!     },
//!     exports: { "wasi:cli/run": app },
//!     grants: { stdio: true, args: true },
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Hello::main()
//! }
//! ```
//!
//! # Grammar
//!
//! ```text
//! compose!("compose.toml")                      // short form: a plan file
//! compose!(path = "compose.toml", type = App)   // a plan file and options
//! compose! { <entry>, … }                       // an inline plan and options
//! compose!({ <entry>, … })                      // the same, braced
//!
//! entry  := key (":" | "=") value
//! key    := word | "string"                     // word: `name`, `timeout-ms`, `crate`
//! value  := "string" | integer | true | false | word | [value, …] | { entry, … }
//! ```
//!
//! A bare word value reads as a string (`greeter` is `"greeter"`). The inline plan has the
//! fields of the TOML plan (docs/plan.md): `schema`, `name`, `components`, `exports`,
//! `grants`, `policy`, `secrets`, `observability`. The options are not plan fields:
//!
//! | option | meaning | default |
//! |---|---|---|
//! | `path` | the plan file (TOML or canonical CBOR), relative to `CARGO_MANIFEST_DIR`; excludes inline fields | inline plan |
//! | `type` | the name of the generated type | the plan's `name` in UpperCamelCase, else `Composition` |
//! | `workspace` | the Cargo workspace `crate = "…"` components come from, relative to `CARGO_MANIFEST_DIR` | the crate's own workspace |
//! | `precompile` | embed code precompiled with Wasmtime | `true` |
//! | `provenance` | write the build's SLSA provenance next to the outputs and embed it as `PROVENANCE` (docs/provenance.md) | `false` |
//!
//! Relative `path` sources resolve against the plan file's folder, or `CARGO_MANIFEST_DIR`
//! for an inline plan. Guest crates are built (release, `wasm32-wasip2`) into
//! `<target>/guests`, and results are cached in `<target>/compose`.
//!
//! # What it expands to
//!
//! `pub struct <Type>;` with `EMBEDDED` (a `compose_runtime::Embedded`: plan bytes, component,
//! precompiled code and their digests), `PLAN_DIGEST`, `COMPONENT_DIGEST`, `load()`,
//! `builder()`, `run(&args)` and `main()`. Loading checks the embedded bytes against their
//! digests before anything runs. The crate is rebuilt when the plan file, a guest's sources
//! or its WIT change (each is `include_bytes!`-tracked).

/// A message prefixed with its code from the code table (`E0601: …`), as the macro's errors
/// are written; `coded_fmt!` is the same with `format!` arguments.
fn coded(code: compose_model::Code, text: &str) -> String {
    format!("{code}: {text}")
}

macro_rules! coded_fmt {
    ($code:expr, $($fmt:tt)*) => {
        format!("{}: {}", $code, format!($($fmt)*))
    };
}

mod expand;
mod input;

/// Composes WebAssembly components at compile time; see the [crate docs](crate) for the
/// grammar.
#[proc_macro]
pub fn compose(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    match syn::parse::<input::Input>(input) {
        Ok(input) => expand::expand(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
