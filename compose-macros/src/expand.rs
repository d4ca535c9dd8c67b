//! From a parsed invocation to code: read the plan (inline or from its file), run the shared
//! checks and the build step of compose-build, and turn every problem into a compile error at
//! the offending token (or at the plan file's literal, with file:line:col).

use std::path::{Path, PathBuf};

use compose_build::Config;
use compose_build::codegen::type_name_for;
use compose_model::Code;
use compose_model::plan::{self, Diagnostic, Plan, Syntax};
use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::coded;
use crate::input::Input;

/// Expands an invocation; on errors, the errors and a stub of the type (so rustc reports only
/// the real problems, not every use of the missing type).
pub fn expand(input: Input) -> TokenStream {
    let stub_name = input
        .type_name
        .clone()
        .unwrap_or_else(|| type_name_for(None));
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err((errors, name)) => {
            let errors = errors.iter().map(syn::Error::to_compile_error);
            let name = name.unwrap_or(stub_name);
            quote! {
                #(#errors)*
                #[allow(dead_code)]
                pub struct #name;
                #[allow(dead_code, unused_variables, clippy::all)]
                impl #name {
                    pub fn load() -> ::core::result::Result<::compose_runtime::Composition, ::compose_runtime::ExecError> { ::core::unreachable!() }
                    pub fn builder() -> ::compose_runtime::Builder { ::core::unreachable!() }
                    pub fn run<S: ::core::convert::AsRef<str>>(args: &[S]) -> ::core::result::Result<u8, ::compose_runtime::ExecError> { ::core::unreachable!() }
                    pub fn main() -> ::std::process::ExitCode { ::core::unreachable!() }
                }
            }
        }
    }
}

type Failure = (Vec<syn::Error>, Option<syn::Ident>);

fn try_expand(input: Input) -> Result<TokenStream, Failure> {
    let mut errors = Vec::new();
    let given_name = input.type_name.clone();
    errors.extend(input.errors.iter().cloned());
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    if input.path.is_some() && input.inline {
        errors.push(syn::Error::new(
            input.path.as_ref().map_or(Span::call_site(), |p| p.span()),
            coded(Code::MacroOption, "`path` names a plan file, so the plan cannot also be written inline; keep one of them"),
        ));
        return Err((errors, given_name));
    }
    let mut config = Config::new();
    config.manifest_dir(&manifest_dir);
    if let Some(w) = &input.workspace {
        let dir = manifest_dir.join(w.value());
        if !dir.exists() {
            errors.push(syn::Error::new(
                w.span(),
                coded_fmt!(Code::EmitSourceNotFound, "the guest workspace `{}` does not exist; give a folder with a `Cargo.toml`, relative to this crate's `Cargo.toml`",
                    dir.display()
                ),
            ));
            return Err((errors, given_name));
        }
        config.workspace(dir);
    }
    if let Some(p) = &input.precompile {
        config.precompile(p.value);
    }
    if let Some(p) = &input.provenance {
        config.provenance(p.value);
    }
    if let Some(t) = &input.type_name {
        config.type_name(t.to_string());
    }
    match &input.path {
        Some(lit) => from_file(&input, lit, &manifest_dir, &mut config, errors),
        None => inline(&input, &mut config, &manifest_dir, errors),
    }
}

fn inline(
    input: &Input,
    config: &mut Config,
    base: &Path,
    mut errors: Vec<syn::Error>,
) -> Result<TokenStream, Failure> {
    let given = input.type_name.clone();
    if !input.inline {
        errors.push(syn::Error::new(
            Span::call_site(),
            coded(Code::MacroSyntax, "`compose!` needs a plan: write it inline (`components: { … }`, …) or name a file with `compose!(\"compose.toml\")`"),
        ));
        return Err((errors, given));
    }
    let read = match plan::read_document(&input.document) {
        Ok(read) => read,
        Err(diags) => {
            errors.extend(diags.iter().map(|d| at_token(input, d)));
            return Err((errors, given));
        }
    };
    let plan = &read.plan;
    if !errors.is_empty() {
        return Err((errors, named(given, plan)));
    }
    config.expand(plan, base).map_err(|mut e| {
        read.locate(&mut e.diagnostics);
        let errs = e.diagnostics.iter().map(|d| at_token(input, d)).collect();
        (errs, named(given.clone(), plan))
    })
}

fn from_file(
    input: &Input,
    lit: &syn::LitStr,
    manifest_dir: &Path,
    config: &mut Config,
    mut errors: Vec<syn::Error>,
) -> Result<TokenStream, Failure> {
    let given = input.type_name.clone();
    let path = manifest_dir.join(lit.value());
    let text = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            errors.push(syn::Error::new(
                lit.span(),
                coded_fmt!(Code::EmitSourceNotFound, "cannot read the plan `{}`: {e}; the path is relative to this crate's `Cargo.toml`",
                    path.display()
                ),
            ));
            return Err((errors, given));
        }
    };
    let shown = lit.value();
    let read = match plan::read_file(&path, &text) {
        Ok(read) => read,
        Err((diags, source)) => {
            errors.extend(
                diags
                    .iter()
                    .map(|d| in_file(lit.span(), &shown, source.as_deref(), d)),
            );
            return Err((errors, given));
        }
    };
    let (plan, source) = (&read.plan, read.source.as_deref());
    if !errors.is_empty() {
        return Err((errors, named(given, plan)));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    config
        .expand_tracking(plan, &base, std::slice::from_ref(&path))
        .map_err(|mut e| {
            read.locate(&mut e.diagnostics);
            let errs = e
                .diagnostics
                .iter()
                .map(|d| in_file(lit.span(), &shown, source, d))
                .collect();
            (errs, named(given.clone(), plan))
        })
}

fn named(given: Option<syn::Ident>, plan: &Plan) -> Option<syn::Ident> {
    given.or_else(|| Some(type_name_for(plan.name.as_deref())))
}

/// A diagnostic of an inline plan, at its token.
/// Its suggested fixes are spelled in the macro's syntax (`"iface": component` in
/// `components: { … }`), not the TOML of plan files.
fn at_token(input: &Input, d: &Diagnostic) -> syn::Error {
    let d = d.in_syntax(Syntax::Macro);
    syn::Error::new(input.span(d.span.as_ref()), message(&d))
}

/// A diagnostic of a plan file, at the file's literal, saying file:line:col and showing the
/// line.
fn in_file(span: Span, file: &str, source: Option<&str>, d: &Diagnostic) -> syn::Error {
    let mut text = message(d);
    if let (Some(src), Some(range)) = (source, d.span.as_ref()) {
        let (line, col) = plan::line_column(src, range.start);
        let shown = src.lines().nth(line - 1).unwrap_or("");
        text = format!("{text}\n --> {file}:{line}:{col}\n  | {shown}");
    }
    syn::Error::new(span, text)
}

/// `E0204: message` plus the hint, as one compile-error text.
fn message(d: &Diagnostic) -> String {
    let mut m = format!("{}: {}", d.code, d.message);
    if let Some(help) = &d.help {
        m.push_str(&format!("\n  = help: {help}"));
    }
    m
}
