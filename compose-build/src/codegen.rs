//! The Rust code generated for a composition: one type holding the embedded plan, component
//! and precompiled code, with `load`, `builder`, `run` and `main`. The macro and `build.rs`
//! generate exactly the same items; only how the embedded files are named differs.

use std::path::{Path, PathBuf};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use compose_model::plan::Capability;

use crate::bundle::Bundle;

/// How generated code names the files it embeds.
#[derive(Clone, Debug)]
pub enum FileRefs {
    /// By absolute path (the macro).
    Absolute,
    /// Relative to `OUT_DIR`, under this sub-folder (a build script: `compose/<name>`), so the
    /// generated file is independent of where the target folder is.
    OutDir(String),
}

/// Generates the composition type `type_name` for `bundle`, embedding its files as `refs`
/// says, and an `include_bytes!` of every file in `tracked` so rustc rebuilds the crate when
/// one changes.
pub fn generate(
    bundle: &Bundle,
    type_name: &Ident,
    refs: &FileRefs,
    tracked: &[PathBuf],
) -> TokenStream {
    let name = bundle
        .plan
        .name
        .clone()
        .unwrap_or_else(|| type_name.to_string());
    let include = |path: &Path| -> TokenStream {
        match refs {
            FileRefs::Absolute => {
                let p = path.display().to_string();
                quote!(::core::include_bytes!(#p))
            }
            FileRefs::OutDir(sub) => {
                let file = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let rel = format!("/{sub}/{file}");
                quote!(::core::include_bytes!(
                    ::core::concat!(::core::env!("OUT_DIR"), #rel)
                ))
            }
        }
    };
    let plan_bytes = proc_macro2::Literal::byte_string(&bundle.plan.to_cbor());
    let plan_digest = bundle.emitted.plan_digest.to_string();
    let component = include(&bundle.component_file);
    let component_digest = bundle.emitted.digest.to_string();
    let precompiled = match &bundle.precompiled {
        Some((path, digest, compat)) => {
            let code = include(path);
            let digest = digest.to_string();
            let compat = compat.to_string();
            // In pages of its own, page-aligned, so that the runtime can run it where it lies
            // (x86-64 Linux) rather than copy it first.
            quote!(.with_precompiled_pages(
                {
                    static CODE: &::compose_runtime::PageAligned<[u8]> =
                        &::compose_runtime::PageAligned(*#code);
                    CODE
                },
                #digest,
                #compat,
            ))
        }
        None => quote!(),
    };
    // What the runtime must be built with, checked when the crate is compiled rather than when
    // the binary runs: without precompiled code the component is compiled at load (the `jit`
    // feature); a plan that grants `attest` needs evidence signing, and one that names an audit
    // log or grants `audit` needs the log (as at load, E0214, naming the feature).
    let plan = &bundle.plan;
    let needs_compiler = feature_assert(
        bundle.precompiled.is_none(),
        "JIT",
        format!(
            "E0512: `{name}` is not precompiled (`precompile = false`), so it is compiled when loaded, and compose-runtime is built without its `jit` feature (no compiler); precompile it, or depend on compose-runtime with `features = [\"jit\"]`"
        ),
    );
    let needs_attest = feature_assert(
        plan.grants.grants(Capability::Attest),
        "ATTEST",
        format!(
            "E0214: `{name}` grants `attest`, and compose-runtime is built without its `attest` feature, so no evidence could be signed; depend on compose-runtime with `features = [\"attest\"]`, or remove the grant"
        ),
    );
    let needs_audit = feature_assert(
        plan.observability.audit.is_some() || plan.grants.grants(Capability::Audit),
        "AUDIT",
        format!(
            "E0214: `{name}` names an audit log or grants `audit`, and compose-runtime is built without its `audit` feature, so nothing would be recorded; depend on compose-runtime with `features = [\"audit\"]`, or remove them"
        ),
    );
    let provenance = match &bundle.provenance {
        Some((_, bytes)) => {
            // As a literal, not `include_bytes!` of the file: another build writing the same
            // output folder could change or remove it before rustc reads it.
            let bytes = proc_macro2::Literal::byte_string(bytes);
            quote! {
                /// The build's SLSA provenance (`compose_build::Config::provenance`): an in-toto
                /// statement as canonical JSON, or a Sigstore bundle signing it.
                pub const PROVENANCE: &'static [u8] = #bytes;
            }
        }
        None => quote!(),
    };
    let signatures = if bundle.signatures.is_empty() {
        quote!()
    } else {
        let s = &bundle.signatures;
        quote!(.with_bundles(&[#(#s),*]))
    };
    let tracked = tracked.iter().map(|p| {
        let p = p.display().to_string();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#p);
        )
    });
    let typed = typed_exports(bundle, type_name);
    let serves = bundle
        .plan
        .exports
        .keys()
        .any(|e| e.starts_with("wasi:http/incoming-handler"));
    let needs_serve = feature_assert(
        serves,
        "SERVE",
        format!(
            "E0214: `{name}` exports `wasi:http/incoming-handler`, and compose-runtime is built without its `serve` feature, so nothing could serve it; depend on compose-runtime with `features = [\"serve\"]`"
        ),
    );
    let serve = if serves {
        quote! {
            impl #type_name {
                /// Serves the `wasi:http` composition on `addr` (one fresh instance per request)
                /// until SIGINT or SIGTERM, then lets in-flight requests finish.
                pub fn serve(addr: ::std::net::SocketAddr) -> ::core::result::Result<(), ::compose_runtime::ExecError> {
                    Self::EMBEDDED.serve(addr)
                }
            }
        }
    } else {
        quote!()
    };
    let doc = format!(
        " The `{name}` composition, composed at build time: plan `{plan_digest}`, component `{component_digest}`."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug)]
        pub struct #type_name;

        #needs_compiler
        #needs_attest
        #needs_audit
        #needs_serve

        impl #type_name {
            /// The plan, component and precompiled code embedded in this binary.
            pub const EMBEDDED: ::compose_runtime::Embedded = ::compose_runtime::Embedded::new(
                #name,
                #plan_bytes,
                #plan_digest,
                #component,
                #component_digest,
            ) #precompiled #signatures;

            /// The digest of the plan's canonical CBOR.
            pub const PLAN_DIGEST: &'static str = #plan_digest;

            /// The digest of the composed component.
            pub const COMPONENT_DIGEST: &'static str = #component_digest;

            #provenance

            /// Checks the embedded bytes against their digests and loads the composition with
            /// the default host policy.
            pub fn load() -> ::core::result::Result<::compose_runtime::Composition, ::compose_runtime::ExecError> {
                Self::EMBEDDED.load()
            }

            /// A builder to refuse capabilities or set the host policy before loading.
            pub fn builder() -> ::compose_runtime::Builder {
                Self::EMBEDDED.builder()
            }

            /// Loads and runs the `wasi:cli/run` composition with `args`; returns its exit code.
            pub fn run<S: ::core::convert::AsRef<str>>(args: &[S]) -> ::core::result::Result<u8, ::compose_runtime::ExecError> {
                Self::load()?.run(args)
            }

            /// Runs the composition with this process's arguments; the exit code to return
            /// from `main`.
            pub fn main() -> ::std::process::ExitCode {
                Self::EMBEDDED.main()
            }
        }

        #typed

        #serve

        #(#tracked)*
    }
}

/// For a composition that exports interfaces of its own: a module with wasmtime's `bindgen!`
/// of them, and `instantiate()` returning the typed exports.
fn typed_exports(bundle: &Bundle, type_name: &Ident) -> TokenStream {
    let Some(wit) = crate::typed::exports_wit(&bundle.emitted.bytes) else {
        return quote!();
    };
    let module = format_ident!("{}_exports", snake(&type_name.to_string()));
    let world = format!("root:component/{}", crate::typed::WORLD);
    let doc = format!(
        " Typed bindings for the exports of [`{type_name}`], generated by wasmtime's `bindgen!` from the composed component's WIT."
    );
    quote! {
        #[doc = #doc]
        #[allow(missing_docs, clippy::all)]
        pub mod #module {
            ::compose_runtime::wasmtime::component::bindgen!({
                inline: #wit,
                world: #world,
                wasmtime_crate: ::compose_runtime::wasmtime,
            });
        }

        impl #type_name {
            /// Loads and instantiates the composition (deny-by-default, with the plan's limits)
            /// and returns its exports with typed methods:
            /// `exports.<interface>().call_<function>(&mut store, …)`.
            pub fn instantiate() -> ::core::result::Result<
                ::compose_runtime::Instantiated<#module::TypedExports>,
                ::compose_runtime::ExecError,
            > {
                Self::load()?.instantiate_with(|store, instance| #module::TypedExports::new(store, instance))
            }
        }
    }
}

/// `HelloCli` → `hello_cli`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The type name for a plan name: `hello-cli` → `HelloCli`; `Composition` without a name.
pub fn type_name_for(plan_name: Option<&str>) -> Ident {
    let camel: String = plan_name
        .unwrap_or("composition")
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    let camel = if camel.starts_with(|c: char| c.is_ascii_alphabetic()) {
        camel
    } else {
        format!("Composition{camel}")
    };
    format_ident!("{}", camel, span = Span::call_site())
}

/// When `needed`, a compile-time assertion that `compose_runtime::FLAG` is true, failing with
/// `message`.
fn feature_assert(needed: bool, flag: &str, message: String) -> TokenStream {
    if !needed {
        return quote!();
    }
    let flag = Ident::new(flag, Span::call_site());
    // `assert!` reads its message as a format string: a plan name may hold braces.
    let message = message.replace('{', "{{").replace('}', "}}");
    quote!(
        const _: () = ::core::assert!(::compose_runtime::#flag, #message);
    )
}

#[cfg(test)]
mod tests {
    use super::type_name_for;

    #[test]
    fn type_names_are_upper_camel_case() {
        assert_eq!(type_name_for(Some("hello")).to_string(), "Hello");
        assert_eq!(type_name_for(Some("hello-cli")).to_string(), "HelloCli");
        assert_eq!(type_name_for(Some("typed_api")).to_string(), "TypedApi");
        assert_eq!(type_name_for(Some("3d")).to_string(), "Composition3d");
        assert_eq!(type_name_for(None).to_string(), "Composition");
    }
}
