//! `composectl exec`: run compositions on Wasmtime, deny-by-default.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Subcommand;
use compose_build::{BlobStore, EmitOptions};
use compose_model::plan::{self, Capability, Plan};
use compose_model::{Code, Hashed};
use compose_runtime::{Composition, ExecError, HostPolicy, Runtime, ServeOptions};

use super::report::JsonOut;
use crate::failure::Coded;
use crate::io;

mod audit;
mod recorded;
mod signature;

use signature::host_signature;

/// What `run` and `serve` both take: the composition and the host's policy.
#[derive(clap::Args)]
pub struct Input {
    /// A plan (`.toml`/`.cbor`) or a composed component (`.wasm`).
    input: PathBuf,
    /// Your plan for a `.wasm` input, replacing the one the component records. Without it a
    /// component emitted by composectl runs under its recorded plan's wiring with at most
    /// stdout, stderr, args, clocks and random of its grants, plus `--allow`; a component that
    /// records no plan is granted nothing, not even stdout.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Grant a component run without `--plan` what its recorded plan cannot give by itself
    /// (repeatable): stdin, stdout, stderr, stdio, args, clocks, random, attest, env=NAME,
    /// dirs=HOST::GUEST[::rw] (read-only unless `::rw`; HOST relative to the current
    /// directory), network=HOST:PORT, http=HOST[:PORT], secrets=TOKEN=REFERENCE.
    #[arg(long = "allow", value_name = "CAP[=VALUE]", conflicts_with = "plan")]
    allow: Vec<String>,
    /// Capabilities the host refuses even if the plan grants them (repeatable).
    #[arg(long = "refuse", value_name = "CAPABILITY")]
    refuse: Vec<String>,
    /// A secret token guests may read in clear with `token.reveal` (repeatable). Without it
    /// they can only sign with a token or attach it to allowed outgoing HTTP. `vault:` secrets
    /// are read from OpenBao/Vault at `BAO_ADDR` (or `VAULT_ADDR`) with `BAO_TOKEN` (or
    /// `VAULT_TOKEN`); `pkcs11:` keys are used in the PKCS#11 module `PKCS11_MODULE` (default:
    /// SoftHSM2's) when `PKCS11_PIN` is set.
    #[arg(long = "reveal", value_name = "TOKEN")]
    reveal: Vec<String>,
    /// Sign `std:attest` evidence with this private key (PEM, as `trust keygen` writes) for
    /// guests the plan grants `attest`; `attest verify-evidence` checks it with the public
    /// key. Without a key a required `attest` is refused, an optional one gets `unavailable`.
    #[arg(long, value_name = "KEY", conflicts_with = "attest_pkcs11")]
    attest_key: Option<PathBuf>,
    /// Sign `std:attest` evidence with a key inside a PKCS#11 token (`PKCS11_MODULE`,
    /// `PKCS11_PIN`), by label; the evidence says `pkcs11`. The module is then not also a
    /// backend for `pkcs11:` secrets in the same run (it is initialized once per process).
    #[arg(long, value_name = "LABEL")]
    attest_pkcs11: Option<String>,
    #[command(flatten)]
    audit: audit::AuditArgs,
    /// The blob store for emitted components and compiled code.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile and compose again even when cached.
    #[arg(long)]
    no_cache: bool,
    /// Also write how it ended to FILE as JSON (stdout is the guest's): `{"ok":true,
    /// "exit_code":N}` for a run, `{"ok":true}` for a server that shut down, or
    /// `{"ok":false,"errors":[…]}` with the error objects of `plan validate --json`.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
    #[command(flatten)]
    trust: HostTrust,
}

/// The host's own signature requirement on what it runs, whatever the plan says.
#[derive(clap::Args)]
pub struct HostTrust {
    /// Run only a composed component signed by a `--trust-key`; with a plan (`--plan`, or a
    /// plan as the input), the signature must be a composition statement naming that plan
    /// (`emit build --sign-key`, `trust sign --plan`), so the grants are covered too.
    /// Refused before anything is instantiated.
    #[arg(long, requires = "trust_key")]
    require_signature: bool,
    /// A public key (PEM) whose signature is accepted (repeatable).
    #[arg(long, value_name = "PUB", requires = "require_signature")]
    trust_key: Vec<PathBuf>,
    /// A bundle for the composed component (repeatable); also looked for: `X.wasm.sigstore.json`
    /// beside a `.wasm` input, and the blob store under the component's digest.
    #[arg(long, value_name = "BUNDLE", requires = "require_signature")]
    bundle: Vec<PathBuf>,
    /// A Sigstore `trusted_root.json`: for keyless signatures on the plan's inputs (a plan
    /// input), and for the log entries of the composition's bundles (`--require-signature`).
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
}

/// Run compositions.
#[derive(Subcommand)]
#[command(defer = true)]
pub enum ExecCommand {
    /// Run a `wasi:cli/run` composition: a plan (emitted first, cached) or a composed component
    /// with `--plan`. The guest's exit code becomes ours; a refusal, limit or trap exits 1 with
    /// its error code.
    Run {
        #[command(flatten)]
        input: Input,
        /// Arguments for the guest (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Serve a composition that exports `wasi:http/incoming-handler`: one fresh instance per
    /// request (pooling allocator), the plan's limits and deadline per request, outgoing HTTP
    /// only to the plan's `http` allowlist. A request that traps gets a 500 and a log line with
    /// its request id. SIGINT/SIGTERM stop accepting, let in-flight requests finish, exit 0.
    Serve {
        #[command(flatten)]
        input: Input,
        /// Where to listen (every path goes to the component).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Listen on this port of 127.0.0.1 (the same as `--addr 127.0.0.1:PORT`).
        #[arg(long, value_name = "PORT", conflicts_with = "addr")]
        port: Option<u16>,
        /// How long in-flight requests may take to finish after a shutdown signal.
        #[arg(long, default_value_t = 10_000, value_name = "MS")]
        shutdown_timeout_ms: u64,
        /// Concurrent instances the pooling allocator holds (each request is one), unless the
        /// plan's `policy.concurrency` sets it.
        #[arg(long, default_value_t = 1000)]
        pool_size: u32,
    },
}

impl ExecCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            ExecCommand::Run { input, args } => {
                let out = JsonOut(input.json_out.clone());
                let Some(resolved) = input.resolve(&out)? else {
                    return Ok(ExitCode::FAILURE);
                };
                let Resolved {
                    plan,
                    component,
                    host,
                    store,
                    ..
                } = &resolved;
                let mut runtime = match Runtime::new(&plan.policy) {
                    Ok(r) => r,
                    Err(e) => {
                        out.error(e.code, &e.message, &e.to_string())?;
                        return Ok(ExitCode::FAILURE);
                    }
                };
                if let Some(s) = store {
                    runtime = runtime.with_cache(s.clone());
                }
                let ran = Composition::new_hashed(runtime, plan, component.clone(), host.clone())
                    .and_then(|c| c.run_to_exit(&args));
                let ran = resolved.close_log(ran);
                match ran {
                    Ok(code) => {
                        out.done(serde_json::json!({ "ok": true, "exit_code": code }))?;
                        Ok(ExitCode::from(code))
                    }
                    Err(e) => {
                        out.error(e.code, &e.message, &e.to_string())?;
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
            ExecCommand::Serve {
                input,
                addr,
                port,
                shutdown_timeout_ms,
                pool_size,
            } => {
                let out = JsonOut(input.json_out.clone());
                let Some(resolved) = input.resolve(&out)? else {
                    return Ok(ExitCode::FAILURE);
                };
                let Resolved {
                    plan,
                    component,
                    host,
                    ..
                } = &resolved;
                let addr = port.map_or(addr, |p| std::net::SocketAddr::from(([127, 0, 0, 1], p)));
                let mut options = ServeOptions::new(addr);
                options.shutdown_timeout = std::time::Duration::from_millis(shutdown_timeout_ms);
                options.pool_size = pool_size;
                options.stop_on_signals = true;
                // The server compiles for its own (pooling) engine; this runtime only checks.
                let served = Runtime::new(&plan.policy)
                    .and_then(|rt| {
                        Composition::new_hashed(rt, plan, component.clone(), host.clone())
                    })
                    .and_then(|c| c.serve(&options))
                    .and_then(|server| {
                        eprintln!("serving http://{}/", server.addr());
                        server.wait()
                    });
                let served = resolved.close_log(served);
                match served {
                    Ok(()) => {
                        out.done(serde_json::json!({ "ok": true }))?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        out.error(e.code, &e.message, &e.to_string())?;
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
        }
    }
}

/// A composition ready to run: its plan, component, the host's policy and the cache to use.
struct Resolved {
    plan: Plan,
    /// Hashed once: the signature check and the compiled-code cache share the digest.
    component: Hashed<Arc<[u8]>>,
    host: HostPolicy,
    store: Option<BlobStore>,
    /// The audit log the plan names, closed (flushed, its thread joined) before exiting.
    log: Option<compose_runtime::audit::AuditLog>,
}

impl Resolved {
    /// Closes the audit log after a run or server: `ended` unless closing fails and the plan
    /// requires the log (`E0801`).
    fn close_log<T>(&self, ended: Result<T, ExecError>) -> Result<T, ExecError> {
        let Some(log) = &self.log else { return ended };
        match log.close() {
            Err(e) if self.plan.observability.audit_required && ended.is_ok() => Err(e),
            Err(e) => {
                eprintln!("audit: {e}");
                ended
            }
            Ok(()) => ended,
        }
    }
}

impl Input {
    /// The plan, the composed component, the host policy and the cache (unless `--no-cache`);
    /// `None` after printing why when the plan is invalid or does not emit.
    fn resolve(self, out: &JsonOut) -> Result<Option<Resolved>> {
        let Input {
            input,
            plan,
            allow,
            refuse,
            reveal,
            cache_dir,
            no_cache,
            trust,
            attest_key,
            attest_pkcs11,
            audit,
            json_out: _,
        } = self;
        let mut host = HostPolicy::default();
        // The plan file's folder: its relative paths (`grants.dirs`, the audit log) are
        // relative to it.
        let mut plan_folder = None;
        // The key is opened first: one that cannot sign stops before anything runs.
        let attest_signer = attest_key.is_some() || attest_pkcs11.is_some();
        match super::trust::open_signer(attest_key.as_deref(), attest_pkcs11.as_deref()) {
            Ok(Some(signer)) => host = host.attestation_key(signer),
            Ok(None) => {}
            Err(e) => {
                out.error(e.code, &e.message, &e.to_string())?;
                return Ok(None);
            }
        }
        for name in &refuse {
            let cap = Capability::parse(name).ok_or_else(|| {
                let all: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                Coded::usage(format!(
                    "`--refuse {name}`: not a capability; use one of {}",
                    all.join(", ")
                ))
            })?;
            host = host.refuse(cap);
        }
        if let Ok(vault) = compose_runtime::secrets::VaultBackend::from_env() {
            host = host.secret_backend("vault", vault);
        }
        // A PKCS#11 module is initialized once per process, and the attestation key holds it:
        // with `--attest-pkcs11` there is no `pkcs11:` secret backend (a plan requiring one is
        // refused, E0501).
        if std::env::var_os("PKCS11_PIN").is_some() && attest_pkcs11.is_none() {
            let hsm = compose_runtime::secrets::Pkcs11Backend::from_env()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            host = host.secret_backend("pkcs11", hsm);
        }
        let store = cache_dir
            .map(BlobStore::new)
            .or_else(BlobStore::default_location);
        let plan_arg = plan.is_some();
        // Read once: a `.wasm` input is then the component itself (read into memory the run
        // can share, so it is not copied again).
        let wasm = compose_model::blobs::read_shared(&input)
            .ok()
            .filter(|b| b.starts_with(b"\0asm"));
        let is_wasm = wasm.is_some();
        if !allow.is_empty() && !is_wasm {
            return Err(Coded::usage(format!(
                "`--allow` adds to the plan a composed component records; `{}` is a plan, so grant it there",
                input.display()
            )));
        }
        let allows = recorded::parse_allows(&allow)?;
        // A trusted root is read only to check signatures: the inputs' at emit (a plan input),
        // or the component's (`--require-signature`). Anywhere else it would be ignored.
        if trust.trusted_root.is_some() && is_wasm && !trust.require_signature {
            return Err(Coded::error(
                Code::TrustRootUnused,
                format!(
                    "`--trusted-root` checks signatures, and nothing here is checked: `{}` is already composed; add `--require-signature --trust-key PUB`, or run the plan itself",
                    input.display()
                ),
            ));
        }
        let (plan, component) = if let Some(bytes) = wasm {
            let plan = match &plan {
                Some(p) => {
                    plan_folder = Some(folder_of(p)?);
                    load_plan(p, out)?
                }
                None => recorded::bare_plan(&input, &bytes, &allows, out)?,
            };
            let Some(plan) = plan else {
                return Ok(None);
            };
            (plan, bytes)
        } else {
            let Some(p) = load_plan(&input, out)? else {
                return Ok(None);
            };
            plan_folder = Some(folder_of(&input)?);
            let mut options = EmitOptions::default();
            if let Some(s) = &store {
                options = options.cache(s.clone(), !no_cache);
            }
            // Emit checks the inputs' signatures with the root; when the plan requires none,
            // it is the host's check (`--require-signature`) that uses it, or nothing does (and
            // emit says so, E0713).
            if let Some(r) = &trust.trusted_root
                && (p.requires_signatures() || !trust.require_signature)
            {
                options = options.trusted_root(r);
            }
            match compose_build::emit(&input, &options) {
                Ok(e) => {
                    // Emitted here, so the plan's input signatures were just checked.
                    host = host.inputs_checked_at_emit();
                    (p, e.bytes.into())
                }
                Err(e) => {
                    out.refused(&e.render(), e.source.as_deref(), &e.diagnostics)?;
                    return Ok(None);
                }
            }
        };
        if attest_pkcs11.is_some() && plan.secrets.values().any(|r| r.scheme() == "pkcs11") {
            return Err(Coded::usage(
                "the plan reads `pkcs11:` secrets, and `--attest-pkcs11` holds the PKCS#11 module (it is initialized once per process), so both cannot be used in one run; sign evidence with `--attest-key KEY` instead",
            ));
        }
        if attest_signer && !plan.grants.grants(Capability::Attest) {
            // Refused like `--audit-key` for a plan without a log: a flag may only promise
            // what the run does.
            return Err(Coded::usage(
                "an attestation key (`--attest-key`, `--attest-pkcs11`) signs the evidence of components the plan grants `attest`, and this plan grants no `attest` (a component run without `--plan` has none), so nothing would be signed; grant it in the plan or drop the flag",
            ));
        }
        if let Some(folder) = &plan_folder {
            host = host.plan_folder(folder);
        }
        let component = Hashed::new(component);
        audit.check(&plan)?;
        // Opened before the signature check, whose result it records.
        let log = match audit.open(&plan, plan_folder.as_deref()) {
            Ok(log) => log,
            Err(e) => {
                out.error(e.code, &e.message, &e.to_string())?;
                return Ok(None);
            }
        };
        if let Some(log) = &log {
            host = host.audit_log(log.clone());
        }
        // Whether only this user can change the store, asked once: it decides both whether a
        // verification that succeeded before is believed and whether compiled code is taken
        // from the store under a signature requirement.
        let private = match &store {
            Some(s) if trust.require_signature => s.private(),
            _ => None,
        };
        let store_private = private.is_some();
        if trust.require_signature {
            let wasm_input = is_wasm.then_some(input.as_path());
            let plan_given = !is_wasm || plan_arg;
            let checked = host_signature(
                &trust,
                component.borrowed(),
                wasm_input,
                plan_given.then_some(&plan),
                store.as_ref(),
                private.filter(|_| !no_cache),
            );
            if let Some(log) = &log {
                audit::signature(log, &plan, &component, &checked)?;
            }
            if let Err(e) = checked {
                out.error(e.code, &e.message, &e.to_string())?;
                return Ok(None);
            }
            // A trusted signer's statement says this component is the composition of this
            // plan, whose emit checked the inputs' signatures.
            if plan_given {
                host = host.inputs_checked_at_emit();
            }
        }
        for token in reveal {
            if !plan.secrets.contains_key(&token) {
                let defined: Vec<&str> = plan.secrets.keys().map(String::as_str).collect();
                return Err(Coded::usage(format!(
                    "`--reveal {token}`: the plan defines no secret `{token}`{}",
                    if defined.is_empty() {
                        String::new()
                    } else {
                        format!(" (it defines {})", defined.join(", "))
                    }
                )));
            }
            host = host.reveal(token);
        }
        Ok(Some(Resolved {
            log,
            plan,
            component,
            host,
            // With a signature required, compiled code comes from the cache only when no one
            // but this user can change the cache; otherwise the verified component is compiled.
            store: store.filter(|_| !no_cache && (!trust.require_signature || store_private)),
        }))
    }
}

/// The folder a plan file is in, absolute: its relative `grants.dirs` are relative to it.
fn folder_of(plan: &Path) -> Result<PathBuf> {
    let folder = plan.parent().unwrap_or(Path::new(""));
    std::path::absolute(folder.join("."))
        .with_context(|| format!("cannot make the folder of `{}` absolute", plan.display()))
}

/// Reads a valid plan, printing its errors otherwise.
fn load_plan(path: &Path, out: &JsonOut) -> Result<Option<Plan>> {
    let bytes = io::read(path)?;
    let (result, source) = plan::from_file_bytes(path, &bytes);
    match result {
        Ok(p) => Ok(Some(p)),
        Err(d) => {
            let text = plan::render(&path.display().to_string(), source.as_deref(), &d);
            out.refused(&text, source.as_deref(), &d)?;
            Ok(None)
        }
    }
}
