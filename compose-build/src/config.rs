//! The build-script front end, in the style of cxx-build and prost-build: [`compile`] for the
//! common case, [`Config`] to change the defaults.

use std::path::{Path, PathBuf};

use cargo_metadata::MetadataCommand;
use compose_model::Code;
use compose_model::blobs::BlobStore;
use compose_model::plan::{Diagnostic, Plan};
use proc_macro2::{Ident, TokenStream};

use crate::bundle::{self, Bundle, Settings};
use crate::codegen::{self, FileRefs};
use crate::{EmitError, EmitOptions};

/// Composes the plan at `plan` (relative to the crate's `CARGO_MANIFEST_DIR`) with the default
/// [`Config`], from a build script. On failure prints every problem, with file:line:col, and
/// exits 1.
///
/// ```no_run
/// // build.rs
/// fn main() {
///     compose_build::compile("compose.toml");
/// }
/// ```
pub fn compile(plan: impl AsRef<Path>) {
    Config::new().compile(plan);
}

/// Build settings. Every setter documents its default.
#[derive(Clone, Debug, Default)]
pub struct Config {
    workspace: Option<PathBuf>,
    guest_target_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    precompile: Option<bool>,
    type_name: Option<String>,
    manifest_dir: Option<PathBuf>,
    sign_key: Option<PathBuf>,
    trusted_root: Option<PathBuf>,
    provenance: bool,
}

/// What a build script's compile made.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Compiled {
    /// The bundle (plan, composition, output files).
    pub bundle: Bundle,
    /// The generated Rust file, `OUT_DIR/compose/<name>.rs`.
    pub rust_file: PathBuf,
    /// Every file read, which `compile` printed as `cargo:rerun-if-changed`.
    pub files: Vec<PathBuf>,
}

impl Config {
    /// The defaults.
    pub fn new() -> Config {
        Config::default()
    }

    /// The Cargo workspace (folder or `Cargo.toml`) that `crate` sources come from. Default:
    /// the workspace of the nearest `Cargo.toml` above the plan.
    pub fn workspace(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.workspace = Some(dir.into());
        self
    }

    /// Where guest crates are built for `wasm32-wasip2`. Default: `<target>/guests`, where
    /// `<target>` is this crate's Cargo target folder; always apart from the build's own
    /// target folder, so the nested cargo never waits on the outer one's lock.
    pub fn guest_target_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.guest_target_dir = Some(dir.into());
        self
    }

    /// The blob store caching compositions and compiled code. Default: `<target>/compose`.
    pub fn cache_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Where outputs go. Default: `$OUT_DIR`; they are written to `compose/<name>/` below it
    /// (`plan.cbor`, `component.wasm`, `component.cwasm`) and `compose/<name>.rs`.
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether to precompile the composition with Wasmtime and embed the code, so the binary
    /// starts without compiling. Default: on when compose-build's `precompile` feature is.
    pub fn precompile(&mut self, on: bool) -> &mut Self {
        self.precompile = Some(on);
        self
    }

    /// The name of the generated type. Default: the plan's `name` in UpperCamelCase
    /// (`hello-cli` → `HelloCli`), or `Composition`.
    pub fn type_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.type_name = Some(name.into());
        self
    }

    /// Signs the composition with this private key (PKCS#8 PEM, owner-only) and embeds the
    /// bundle: an in-toto statement naming the component and the plan. Default: no signing;
    /// bundles already in the blob store for the composed component (`composectl emit build
    /// --sign-key`, `trust sign --plan`) are embedded either way. A binary checks them only
    /// against the keys the application gives `Builder::require_signature`.
    pub fn sign_key(&mut self, key: impl Into<PathBuf>) -> &mut Self {
        self.sign_key = Some(key.into());
        self
    }

    /// Writes the build's SLSA provenance next to the outputs and embeds it (the generated
    /// type's `PROVENANCE`): the in-toto statement `composectl emit build --provenance` writes
    /// (docs/provenance.md), naming the composed component `component.wasm`, the plan by its
    /// file name (`compose!(...)` for a plan written inline in the macro) and the builder
    /// `…/compose-build`; as canonical JSON (`provenance.json`), or signed into a Sigstore
    /// bundle (`provenance.sigstore.json`) with [`Config::sign_key`]. No time is recorded, so
    /// rebuilds give the same statement (a signature over it differs from signing to signing).
    /// Default: off.
    pub fn provenance(&mut self, on: bool) -> &mut Self {
        self.provenance = on;
        self
    }

    /// A Sigstore `trusted_root.json` for inputs whose plan accepts keyless signers (relative
    /// to the crate). Default: none, and keyless bundles are refused (`E0707`).
    pub fn trusted_root(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.trusted_root = Some(path.into());
        self
    }

    /// The crate whose plan this is. Default: `$CARGO_MANIFEST_DIR`.
    pub fn manifest_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.manifest_dir = Some(dir.into());
        self
    }

    /// Composes `plan` like [`Config::try_compile`], printing `cargo:rerun-if-changed` for every
    /// file read; on failure prints every problem and exits 1 (a build script never panics).
    pub fn compile(&self, plan: impl AsRef<Path>) {
        match self.try_compile(plan.as_ref()) {
            Ok(compiled) => {
                for f in &compiled.files {
                    println!("cargo:rerun-if-changed={}", f.display());
                }
            }
            Err(e) => {
                // Even a failed build must rerun when the plan or a guest is fixed.
                for f in &e.files {
                    println!("cargo:rerun-if-changed={}", f.display());
                }
                eprintln!("{}", e.error.render());
                std::process::exit(1);
            }
        }
    }

    /// Reads the plan file, composes it and writes the outputs and the generated Rust file.
    pub fn try_compile(&self, plan_path: &Path) -> Result<Compiled, CompileError> {
        let manifest_dir = self.crate_dir().map_err(|error| CompileError {
            error,
            files: Vec::new(),
        })?;
        let path = manifest_dir.join(plan_path);
        let mut files = vec![path.clone()];
        let fail = |error: EmitError, files: Vec<PathBuf>| CompileError { error, files };
        let read = crate::plan_file::read_plan(&path).map_err(|e| fail(e, files.clone()))?;
        let plan = &read.plan;
        let out_root = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                fail(
                    simple(
                        Code::EmitWriteFailed,
                        "`OUT_DIR` is not set; call this from a build script or set `Config::out_dir`",
                    ),
                    files.clone(),
                )
            })?,
        };
        let name = plan
            .name
            .clone()
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "composition".into());
        let plan_name = file_name(plan_path);
        let settings = self
            .settings(
                &manifest_dir,
                out_root.join("compose").join(&name),
                plan_name,
                // A build script: Cargo says the target.
                build_script_target(),
            )
            .map_err(|e| fail(e, files.clone()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let bundle = match bundle::build(plan, &base, &settings) {
            Ok(b) => b,
            Err(mut e) => {
                read.locate(&mut e.diagnostics);
                e.file = path.display().to_string();
                e.source = read.source.clone();
                return Err(fail(e, files));
            }
        };
        files.extend(bundle.emitted.files.iter().cloned());
        let type_name = self.type_ident(plan);
        let code = codegen::generate(
            &bundle,
            &type_name,
            &FileRefs::OutDir(format!("compose/{name}")),
            &[],
        );
        let rust_file = out_root.join("compose").join(format!("{name}.rs"));
        let text = format!(
            "// Generated by compose-build from `{}`; do not edit.\n{code}\n",
            path.display()
        );
        compose_model::blobs::write_atomic(&rust_file, text.as_bytes()).map_err(|e| {
            fail(
                simple(
                    Code::EmitWriteFailed,
                    &format!("cannot write `{}`: {e}", rust_file.display()),
                ),
                files.clone(),
            )
        })?;
        Ok(Compiled {
            bundle,
            rust_file,
            files,
        })
    }

    /// For the `compose!` macro: composes a plan it has read from its tokens (paths relative
    /// to `base`) and returns the generated items, which embed the outputs by absolute path
    /// and `include_bytes!` every file read so rustc rebuilds on a change.
    pub fn expand(&self, plan: &Plan, base: &Path) -> Result<TokenStream, EmitError> {
        self.expand_tracking(plan, base, &[])
    }

    /// [`Config::expand`], also tracking `extra` files (the plan file of `compose!(path = …)`).
    pub fn expand_tracking(
        &self,
        plan: &Plan,
        base: &Path,
        extra: &[PathBuf],
    ) -> Result<TokenStream, EmitError> {
        let manifest_dir = self.crate_dir()?;
        let target = target_dir(&manifest_dir)?;
        let type_name = self.type_ident(plan);
        let out = match &self.out_dir {
            Some(d) => d.clone(),
            None => bundle::macro_out_dir(&target, &type_name.to_string(), &plan.digest()),
        };
        // The plan file of `compose!(path = …)`, else the macro's own tokens.
        let plan_name = extra
            .first()
            .map_or_else(|| "compose!(...)".to_owned(), |p| file_name(p));
        // The macro: Cargo does not tell a proc macro the target, and a `TARGET` in its
        // environment is someone else's, so the code is for the machine the macro runs on.
        let host = compose_engine_target();
        let settings = self.settings(&manifest_dir, out, plan_name, host)?;
        let bundle = bundle::build(plan, base, &settings)?;
        let mut tracked = extra.to_vec();
        tracked.extend(bundle.emitted.files.iter().cloned());
        Ok(codegen::generate(
            &bundle,
            &type_name,
            &FileRefs::Absolute,
            &tracked,
        ))
    }

    fn crate_dir(&self) -> Result<PathBuf, EmitError> {
        match &self.manifest_dir {
            Some(d) => Ok(d.clone()),
            None => std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    simple(
                        Code::EmitSourceNotFound,
                        "`CARGO_MANIFEST_DIR` is not set; build with cargo or set `Config::manifest_dir`",
                    )
                }),
        }
    }

    fn type_ident(&self, plan: &Plan) -> Ident {
        match &self.type_name {
            Some(t) => quote::format_ident!("{}", t),
            None => codegen::type_name_for(plan.name.as_deref()),
        }
    }

    fn settings(
        &self,
        manifest_dir: &Path,
        out_dir: PathBuf,
        plan_name: String,
        precompile_target: String,
    ) -> Result<Settings, EmitError> {
        let target = match (&self.guest_target_dir, &self.cache_dir) {
            (Some(_), Some(_)) => None,
            _ => Some(target_dir(manifest_dir)?),
        };
        let under_target = |sub: &str| target.as_ref().map(|t| t.join(sub)).unwrap_or_default();
        let guest_target = self
            .guest_target_dir
            .clone()
            .unwrap_or_else(|| under_target("guests"));
        let cache = BlobStore::new(
            self.cache_dir
                .clone()
                .unwrap_or_else(|| under_target("compose")),
        );
        let mut emit = EmitOptions::default()
            .guest_target_dir(guest_target)
            .cache(cache, true)
            .provenance(self.provenance);
        if let Some(w) = &self.workspace {
            emit = emit.workspace(manifest_dir.join(w));
        }
        if let Some(r) = &self.trusted_root {
            emit = emit.trusted_root(manifest_dir.join(r));
        }
        Ok(Settings {
            emit,
            out_dir,
            precompile: self.precompile.unwrap_or(cfg!(feature = "precompile")),
            sign_key: self.sign_key.as_ref().map(|k| manifest_dir.join(k)),
            provenance: self.provenance.then_some(plan_name),
            target: precompile_target,
        })
    }
}

/// Cargo's `TARGET` for a build script, else the machine's own target.
fn build_script_target() -> String {
    std::env::var("TARGET")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(compose_engine_target)
}

/// The target this build runs on (known only with the `precompile` feature, which links
/// compose-engine; without it nothing is precompiled and the value is unused).
fn compose_engine_target() -> String {
    #[cfg(feature = "precompile")]
    {
        compose_engine::THIS_TARGET.to_owned()
    }
    #[cfg(not(feature = "precompile"))]
    {
        String::new()
    }
}

/// A path's file name (a provenance statement names no folder of the machine).
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A failed build-script compile: the problems, and the files to watch so the build reruns
/// once they are fixed.
#[derive(Debug)]
#[non_exhaustive]
pub struct CompileError {
    /// The problems.
    pub error: EmitError,
    /// The files read before the failure.
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for CompileError {}

fn simple(code: Code, message: &str) -> EmitError {
    EmitError {
        file: "plan".into(),
        source: None,
        diagnostics: vec![Diagnostic::new(code, "", message)],
    }
}

/// The Cargo target folder of the crate at `manifest_dir`: `$CARGO_TARGET_DIR`, else what
/// `cargo metadata` says.
pub(crate) fn target_dir(manifest_dir: &Path) -> Result<PathBuf, EmitError> {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && t.is_absolute()
    {
        return Ok(t);
    }
    let metadata = MetadataCommand::new()
        .manifest_path(manifest_dir.join("Cargo.toml"))
        .no_deps()
        .exec()
        .map_err(|e| {
            simple(
                Code::EmitSourceNotFound,
                &format!(
                    "cannot find the Cargo target folder of `{}`: {e}",
                    manifest_dir.display()
                ),
            )
        })?;
    Ok(metadata.target_directory.into_std_path_buf())
}
