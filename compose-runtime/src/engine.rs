//! The Wasmtime engine for a policy, and compiled code cached by content.
//!
//! CPU limits: a wall-clock deadline (`policy.timeout-ms`) uses epoch interruption — a host
//! thread ticks the engine's epoch every 10 ms, and a guest past its deadline traps at its next
//! loop header or call. It costs almost nothing, and is what a person means by a timeout. A
//! guest waiting in a host call is stopped at the same deadline by the host (`host/io.rs`,
//! `serve.rs`, and secret backends' calls in `host/secrets_store.rs`). Fuel
//! (`policy.fuel`) counts executed instructions exactly but slows every run, so it is enabled
//! only when the plan sets it.

use std::sync::Mutex;
#[cfg(feature = "jit")]
use std::sync::OnceLock;
use std::time::Duration;

use compose_model::blobs::BlobStore;
use compose_model::plan::Policy;
use compose_model::{Code, Digest};
use wasmtime::component::Component;
use wasmtime::{Engine, PoolingAllocationConfig};

use crate::ExecError;

/// Where a composition's compiled code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// Compiled at load (or, for embedded binaries, taken from the compiled-code cache).
    Compiled,
    /// Precompiled (or cached) code, copied into fresh memory by Wasmtime.
    Copied,
    /// Precompiled code run where it lies in the binary, or cached code run where it was
    /// read (`code_memory.rs`).
    InPlace,
}

/// How long code loaded from the compiled-code cache must be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// As long as the component: Wasmtime copies it into memory the component owns.
    WithComponent,
    /// Until the process exits (`Composition::run_to_exit`): it may run where it was read,
    /// in memory that is never freed.
    UntilExit,
}

/// An engine configuration for the runtime under `policy`: [`engine_config`] (what precompiled
/// code is checked against) and, on x86-64 Linux, the code memory that runs embedded code in
/// place. Every engine this crate makes comes from here, so `load_embedded` may use it.
pub(crate) fn runtime_config(policy: &Policy) -> wasmtime::Config {
    let mut config = engine_config(policy);
    crate::code_memory::configure(&mut config);
    config
}

/// How often the epoch advances.
pub(crate) const TICK: Duration = Duration::from_millis(10);

#[cfg(feature = "jit")]
pub use compose_engine::compatibility;
pub use compose_engine::engine_config;

/// Bytes of each memory and table that a slot keeps resident and resets with `memset`.
const KEEP_RESIDENT: usize = 64 << 10;

/// Slots whose remaining pages are handed back to the kernel together.
const DECOMMIT_BATCH: usize = 16;

/// The pooling allocator's configuration for `instances` concurrent instances of a
/// composition under `policy`: room for several core instances, memories and tables per
/// composed instance, each memory capped at `policy.memory`.
///
/// Slot resets are tuned for serving many short requests (measured with `wrk` on `hello-http`,
/// bench/README.md): keeping 64 KiB per memory and table resident and decommitting the rest in
/// batches of 16 slots served 1.7× the requests per second of Wasmtime's defaults (each alone:
/// 1.4× and 1.55×); keeping 1 MiB resident was slower than the defaults (the `memset` of
/// mostly clean pages costs more than it saves).
pub fn pooling_config(instances: u32, policy: &Policy) -> PoolingAllocationConfig {
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(16))
        .total_memories(instances.saturating_mul(4))
        .total_tables(instances.saturating_mul(8))
        .total_stacks(instances)
        // Reset the first 64 KiB of each memory and table (a small guest's working set) with
        // `memset` rather than `madvise`, finding dirtied pages with `PAGEMAP_SCAN` where the
        // kernel has it, and hand the rest back to the kernel in batches: fewer system calls
        // (and the TLB shootdowns they cause across threads) per request.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto)
        .decommit_batch_size(DECOMMIT_BATCH);
    if let Some(m) = policy.memory {
        pooling.max_memory_size(usize::try_from(m).unwrap_or(usize::MAX));
    }
    pooling
}

/// An engine configured for a plan's policy, with an epoch ticker (started when a store needs
/// it) and an optional cache of compiled code.
///
/// The ticker advances the engine's epoch every [`TICK`] from the first store with a deadline
/// (a server's from the start: a running guest yields at every tick) for as long as the engine
/// lives: a store, component or this runtime holding it. A typed-call store outlives the
/// `Runtime` that made it, and its deadline must still come. A run without a deadline never
/// looks at the epoch, and a `compose!` binary then starts no thread for it. A host that makes
/// its own stores with a deadline on [`Runtime::engine`] must run a plan with a deadline first,
/// or tick the engine itself.
pub struct Runtime {
    /// The engine, chosen at first need (see [`Deferred`]).
    #[cfg(feature = "jit")]
    engine: OnceLock<Engine>,
    /// How the engine is made when first needed.
    #[cfg(feature = "jit")]
    deferred: Deferred,
    /// The engine (no compiler to choose).
    #[cfg(not(feature = "jit"))]
    engine: Engine,
    /// The compiled-code cache's key for this runtime's engine and this machine (see
    /// [`Runtime::exec_key`]).
    #[cfg(feature = "jit")]
    exec_engine: Digest,
    cache: Option<BlobStore>,
    /// Whether the ticker runs.
    ticking: Mutex<bool>,
}

/// The engine of a `jit` build, until it is chosen. Making Wasmtime's compiler (Cranelift's
/// code generator for this CPU) costs about 3% of a warm `exec run` (bench/README.md), and a
/// run whose compiled code is cached needs no compiler. So the runtime makes an engine without
/// one at once (which also checks the configuration, as `Runtime::new` always did); the
/// engine is then chosen by what first needs one: a run that ends the process (the only
/// component this runtime will load, [`Keep::UntilExit`]) whose code is cached keeps the engine
/// without a compiler; anything else gets an engine with the compiler, made then.
#[cfg(feature = "jit")]
struct Deferred {
    /// [`runtime_config`] of the policy (the compiler on).
    config: wasmtime::Config,
    /// An engine of the same configuration, without the compiler.
    loader: Engine,
}

/// `cannot configure Wasmtime` (E0505).
fn unconfigured(e: wasmtime::Error) -> ExecError {
    ExecError::new(
        Code::ExecInvalidComponent,
        format!("cannot configure Wasmtime: {e:#}"),
    )
}

impl Runtime {
    /// An engine for `policy`, with no compiled-code cache.
    pub fn new(policy: &Policy) -> Result<Runtime, ExecError> {
        let config = runtime_config(policy);
        #[cfg(feature = "jit")]
        {
            let mut loading = config.clone();
            loading.enable_compiler(false);
            let loader = Engine::new(&loading).map_err(unconfigured)?;
            Ok(Runtime {
                engine: OnceLock::new(),
                deferred: Deferred { config, loader },
                exec_engine: exec_engine(policy),
                cache: None,
                ticking: Mutex::new(false),
            })
        }
        #[cfg(not(feature = "jit"))]
        Ok(Runtime {
            engine: Engine::new(&config).map_err(unconfigured)?,
            cache: None,
            ticking: Mutex::new(false),
        })
    }

    /// A runtime on an engine made elsewhere for `policy` (it must use [`runtime_config`],
    /// perhaps with another allocation strategy), with its own epoch ticker, started now.
    #[cfg(feature = "serve")]
    pub(crate) fn from_engine(engine: Engine, policy: &Policy) -> Result<Runtime, ExecError> {
        #[cfg(not(feature = "jit"))]
        let _ = policy;
        let runtime = Runtime {
            #[cfg(feature = "jit")]
            engine: OnceLock::from(engine.clone()),
            // Never used: the engine is chosen.
            #[cfg(feature = "jit")]
            deferred: Deferred {
                config: runtime_config(policy),
                loader: engine,
            },
            #[cfg(not(feature = "jit"))]
            engine,
            #[cfg(feature = "jit")]
            exec_engine: exec_engine(policy),
            cache: None,
            ticking: Mutex::new(false),
        };
        runtime.ticking()?;
        Ok(runtime)
    }

    /// Starts the epoch ticker, if it is not running yet: a thread that advances the engine's
    /// epoch every [`TICK`], so that deadlines (and a server's yields) happen.
    pub(crate) fn ticking(&self) -> Result<(), ExecError> {
        let mut ticking = self.ticking.lock().unwrap_or_else(|e| e.into_inner());
        if *ticking {
            return Ok(());
        }
        let e = self.engine().weak();
        std::thread::Builder::new()
            .name("compose-epoch".into())
            .spawn(move || {
                // Until the last holder of the engine lets go of it.
                loop {
                    std::thread::sleep(TICK);
                    match e.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| {
                ExecError::new(
                    Code::ExecHostIo,
                    format!("cannot start the epoch thread: {e}"),
                )
            })?;
        *ticking = true;
        Ok(())
    }

    /// Caches compiled code in `store`, keyed by the component's digest, the engine's
    /// configuration and this CPU (see `exec_key`). (A build without the `jit` feature
    /// compiles nothing, so it caches nothing either.)
    pub fn with_cache(mut self, store: BlobStore) -> Runtime {
        self.cache = Some(store);
        self
    }

    /// The exec key: H(component digest ‖ H(engine record ‖ this CPU) ‖ "exec:v2"), where the
    /// engine record is [`compose_engine::Compatibility::line`] of the policy (Wasmtime
    /// release, target, fuel) and the CPU is [`compose_engine::native_cpu`] (the cached code is
    /// compiled for it). Wasmtime's own compatibility hash would need its compiler, which a
    /// cached run does not make (see [`Deferred`]); what the key leaves out (another
    /// configuration no plan can choose) Wasmtime's check at load refuses, and the code is
    /// compiled again.
    #[cfg(feature = "jit")]
    fn exec_key(&self, digest: &Digest) -> Digest {
        let mut material = digest.as_bytes().to_vec();
        material.extend_from_slice(self.exec_engine.as_bytes());
        material.extend_from_slice(b"exec:v2");
        Digest::of(&material)
    }

    /// Compiles a component, or loads its compiled code from the cache. Returns whether the
    /// cache was used. A build without compose-runtime's `jit` feature cannot compile: it
    /// returns `E0512` (such a build runs only code precompiled into it, see
    /// [`crate::Embedded`]).
    pub fn compile(&self, bytes: &[u8]) -> Result<(Component, bool), ExecError> {
        let (component, loaded) =
            self.compile_known(bytes, Digest::of(bytes), Keep::WithComponent)?;
        Ok((component, loaded != Loaded::Compiled))
    }

    /// [`Runtime::compile`] of `bytes` whose digest is `digest`, as the two come from one
    /// [`compose_model::Hashed`] (the cache key is made from it: a wrong one would load
    /// another component's code), keeping cached code as `keep` says.
    #[cfg(not(feature = "jit"))]
    pub(crate) fn compile_known(
        &self,
        _bytes: &[u8],
        _digest: Digest,
        _keep: Keep,
    ) -> Result<(Component, Loaded), ExecError> {
        Err(no_compiler())
    }

    /// See above: with the compiler.
    #[cfg(feature = "jit")]
    pub(crate) fn compile_known(
        &self,
        bytes: &[u8],
        digest: Digest,
        keep: Keep,
    ) -> Result<(Component, Loaded), ExecError> {
        let key = self.exec_key(&digest);
        if let Some(cache) = &self.cache
            && let Some(loaded) = self.load_cached(cache, &key, keep)
        {
            return Ok(loaded);
        }
        let engine = self.compiling_engine()?;
        let component = Component::new(engine, bytes).map_err(|e| {
            ExecError::new(
                Code::ExecInvalidComponent,
                format!("cannot compile the component: {e:#}"),
            )
        })?;
        if let (Some(cache), Ok(code)) = (&self.cache, component.serialize())
            && let Ok(d) = cache.put(&code)
        {
            let _ = cache.set_key("exec", &key, &d);
        }
        Ok((component, Loaded::Compiled))
    }

    /// The engine to compile with: the runtime's, made now with the compiler if not chosen
    /// yet.
    #[cfg(feature = "jit")]
    fn compiling_engine(&self) -> Result<&Engine, ExecError> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let engine = Engine::new(&self.deferred.config).map_err(unconfigured)?;
        Ok(self.engine.get_or_init(|| engine))
    }

    /// The engine to load cached code of a run with (`keep`): the runtime's if chosen, else
    /// for a run that ends the process the engine without a compiler (chosen once the code
    /// loads, by [`Runtime::chosen`]), else one with the compiler.
    #[cfg(feature = "jit")]
    fn loading_engine(&self, keep: Keep) -> Option<&Engine> {
        match (self.engine.get(), keep) {
            (Some(engine), _) => Some(engine),
            (None, Keep::UntilExit) => Some(&self.deferred.loader),
            (None, Keep::WithComponent) => self.compiling_engine().ok(),
        }
    }

    /// `loaded` (made on `engine`, from [`Runtime::loading_engine`]) once `engine` is the
    /// runtime's: it is chosen now if none was; `None` if another thread chose another one
    /// meanwhile (a component works only with the engine it was loaded into).
    #[cfg(feature = "jit")]
    fn chosen(&self, engine: &Engine, loaded: Component) -> Option<Component> {
        let chosen = self.engine.get_or_init(|| engine.clone());
        Engine::same(chosen, engine).then_some(loaded)
    }

    /// The cached code under `key`, if intact and Wasmtime takes it. Kept [`Keep::UntilExit`],
    /// it is read into pages of its own and used there (x86-64 Linux; elsewhere, or if that
    /// fails, Wasmtime copies it as for [`Keep::WithComponent`]).
    #[cfg(feature = "jit")]
    #[allow(unsafe_code)]
    fn load_cached(
        &self,
        cache: &BlobStore,
        key: &Digest,
        keep: Keep,
    ) -> Option<(Component, Loaded)> {
        use crate::code_memory::{self, Pages};
        let engine = self.loading_engine(keep)?;
        let leaked = match keep {
            Keep::UntilExit => cache
                .get_key_into("exec", key, Pages::new)
                .and_then(|(_, pages)| pages.leak()),
            Keep::WithComponent => None,
        };
        let Some(code) = leaked else {
            // Not in place: another platform, or (if the blob was damaged) nothing cached.
            let (_, code) = cache.get_key("exec", key)?;
            let component = deserialize(engine, &code)?;
            return self.chosen(engine, component).map(|c| (c, Loaded::Copied));
        };
        // SAFETY: the argument of `deserialize` holds for these bytes (read from the blob
        // store, which returned them only once their SHA-256 matched the digest this runtime
        // recorded, under a key naming this engine's configuration and CPU). In place:
        // they lie in leaked `Pages`, made read-only before Wasmtime sees them and never
        // unmapped, so they outlive the component and are never written; the pages are theirs
        // alone and claimed here once (a fresh mapping's address), and this engine has the
        // code memory that makes them executable (`runtime_config`).
        let component = if code_memory::claim_in_place(code)
            && let Ok(c) = unsafe { code_memory::deserialize(engine, code) }
        {
            (c, Loaded::InPlace)
        } else {
            (deserialize(engine, code)?, Loaded::Copied)
        };
        // Leaked code that another engine was chosen for meanwhile stays unused until exit.
        self.chosen(engine, component.0).map(|c| (c, component.1))
    }

    /// The engine's compatibility digest (see [`compatibility`]).
    #[cfg(feature = "jit")]
    pub fn compatibility(&self) -> Digest {
        compatibility(self.engine())
    }

    /// The Wasmtime engine (in a `jit` build, made now with the compiler if no component chose
    /// one yet).
    #[cfg(feature = "jit")]
    pub fn engine(&self) -> &Engine {
        self.engine.get_or_init(|| {
            // The configuration made an engine already (without the compiler), so this fails
            // only if the compiler cannot be made for this machine: the engine then only loads
            // code, and compiling reports why it cannot.
            Engine::new(&self.deferred.config).unwrap_or_else(|_| self.deferred.loader.clone())
        })
    }

    /// The Wasmtime engine.
    #[cfg(not(feature = "jit"))]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads code precompiled at build time and embedded in this binary, once its SHA-256 was
    /// found to be the recorded digest (`_checked`: else `E0509`, the binary was altered),
    /// after checking that the engine and CPU it was compiled for (its
    /// [`compose_engine::Compatibility::line`]) are this build's under `policy` (else
    /// `Err(why)`, naming what differs: a field of the record, or the CPU features this
    /// machine lacks; or why Wasmtime refused the code).
    #[allow(unsafe_code)]
    pub(crate) fn load_embedded(
        &self,
        precompiled: &crate::Precompiled,
        policy: &Policy,
        _checked: crate::embedded::CodeChecked,
    ) -> Result<(Component, Loaded), String> {
        let code = precompiled.code;
        let unfit = compose_engine::Compatibility::mismatches(precompiled.compatibility, policy);
        if !unfit.is_empty() {
            return Err(format!(
                "it was compiled for another engine or CPU: {}",
                unfit.join("; ")
            ));
        }
        // SAFETY: `Component::deserialize` trusts its input to be code Wasmtime compiled. These
        // bytes were written by the build helper with `Engine::precompile_component`, and they
        // are the very bytes it wrote: their SHA-256 matches the digest recorded next to them
        // at build time (`_checked`, which only `check_code` makes, after comparing), so they
        // were not corrupted or mixed up with another composition's code. (Someone able to
        // rewrite the binary could change both, but could as well change the host code
        // itself.) The record checked just above says they were compiled by this Wasmtime
        // release, for this target, with `engine_config` of this policy and for a CPU
        // baseline this machine has. Wasmtime checks its own header once more (release,
        // triple, compiler flags against this CPU, tunables, wasm features) and refuses a
        // mismatch, which the caller reports.
        //
        // In place (x86-64 Linux, code in a `PageAligned`): the same bytes, used where they
        // lie. They are `'static` and behind a shared reference, so they outlive the component
        // and are never written; the pages they span are theirs alone (a `PageAligned` fills
        // whole pages), so making them executable exposes nothing else; no other component
        // uses them (claimed once per process: Wasmtime registers code by its address); and
        // this engine has the code memory that makes them executable (`runtime_config`, which
        // every engine this crate makes comes from).
        let engine = self.engine();
        if let Some(pages) = precompiled.in_pages()
            && crate::code_memory::claim_in_place(pages)
            && let Ok(c) = unsafe { crate::code_memory::deserialize(engine, pages) }
        {
            return Ok((c, Loaded::InPlace));
        }
        // Not in place (another platform, code not in pages of its own, claimed already), or
        // in place failed (`mprotect` refused, say): the copy, whose error is the one to report.
        unsafe { Component::deserialize(engine, code) }
            .map(|c| (c, Loaded::Copied))
            .map_err(|e| format!("{e:#}"))
    }
}

/// The exec key's engine part for `policy` on this machine (see [`Runtime::exec_key`]).
#[cfg(feature = "jit")]
fn exec_engine(policy: &Policy) -> Digest {
    let record = compose_engine::Compatibility::here(policy).line();
    Digest::of(format!("{record} native={}", compose_engine::native_cpu()).as_bytes())
}

/// Loads cached compiled code into `engine`; `None` (and a recompile) when Wasmtime refuses it.
#[cfg(feature = "jit")]
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, code: &[u8]) -> Option<Component> {
    // SAFETY: `Component::deserialize` trusts its input to be code Wasmtime compiled. These
    // bytes are: the blob store returns them only if their SHA-256 still matches the digest
    // recorded when a runtime of this build serialized them (so they are neither corrupt nor
    // swapped), under a key naming the Wasmtime release, target, configuration and CPU; and
    // Wasmtime itself checks its own record in the code (release, target, compiler flags
    // against this CPU, tunables, wasm features) and refuses a mismatch. The cache folder must
    // not be writable by anyone less trusted than the user running this.
    unsafe { Component::deserialize(engine, code) }.ok()
}

/// `E0512`: this build has no compiler.
#[cfg(not(feature = "jit"))]
fn no_compiler() -> ExecError {
    ExecError::new(
        Code::ExecNoCompiler,
        "this build cannot compile components: compose-runtime was built without its `jit` feature, so it runs only code precompiled into the binary; use that code (precompiling is the default for `compose!` and compose-build), or build with `compose-runtime = { features = [\"jit\"] }`",
    )
}

#[cfg(all(test, feature = "jit"))]
mod tests {
    use super::*;

    /// A component exporting `answer`, which returns 42.
    const ANSWER: &str = r#"(component
        (core module $m (func (export "answer") (result i32) i32.const 42))
        (core instance $i (instantiate $m))
        (func (export "answer") (result u32) (canon lift (core func $i "answer"))))"#;

    /// Runs `answer` of `component` on `runtime`'s engine.
    fn answer(runtime: &Runtime, component: &Component) -> u32 {
        let mut store = wasmtime::Store::new(runtime.engine(), ());
        store.set_epoch_deadline(u64::MAX / 2);
        let linker = wasmtime::component::Linker::new(runtime.engine());
        let instance = linker.instantiate(&mut store, component).unwrap();
        let f = instance
            .get_typed_func::<(), (u32,)>(&mut store, "answer")
            .unwrap();
        f.call(&mut store, ()).unwrap().0
    }

    /// Flips the last bit of every blob in the store at `dir`.
    fn damage_every_blob(dir: &std::path::Path) {
        for entry in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
            let path = entry.unwrap().path();
            let mut code = std::fs::read(&path).unwrap();
            let last = code.len() - 1;
            code[last] ^= 1;
            std::fs::write(&path, code).unwrap();
        }
    }

    #[test]
    fn cached_code_kept_until_exit_runs_where_it_was_read_once_checked() {
        let bytes = wat::parse_str(ANSWER).unwrap();
        let digest = Digest::of(&bytes);
        let dir = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(&Policy::default())
            .unwrap()
            .with_cache(BlobStore::new(dir.path()));
        let load = |keep| runtime.compile_known(&bytes, digest, keep).unwrap();
        let (first, loaded) = load(Keep::UntilExit);
        assert_eq!(loaded, Loaded::Compiled);
        assert_eq!(answer(&runtime, &first), 42);

        let (kept, loaded) = load(Keep::UntilExit);
        let in_place = cfg!(all(target_arch = "x86_64", target_os = "linux"));
        let expected = if in_place {
            Loaded::InPlace
        } else {
            Loaded::Copied
        };
        assert_eq!(loaded, expected);
        assert_eq!(answer(&runtime, &kept), 42);
        // Again: other pages, used in place too (each load is claimed once, by its address).
        let (again, loaded) = load(Keep::UntilExit);
        assert_eq!(loaded, expected);
        assert_eq!(answer(&runtime, &again), 42);
        // Code kept only as long as its component is copied by Wasmtime.
        assert_eq!(load(Keep::WithComponent).1, Loaded::Copied);

        // A damaged entry is never loaded, in place or not: it is compiled again.
        damage_every_blob(dir.path());
        let (recompiled, loaded) = load(Keep::UntilExit);
        assert_eq!(loaded, Loaded::Compiled);
        assert_eq!(answer(&runtime, &recompiled), 42);
    }

    #[test]
    fn a_run_to_exit_of_cached_code_makes_no_compiler_and_anything_else_does() {
        let bytes = wat::parse_str(ANSWER).unwrap();
        let digest = Digest::of(&bytes);
        let dir = tempfile::tempdir().unwrap();
        let fresh = || {
            Runtime::new(&Policy::default())
                .unwrap()
                .with_cache(BlobStore::new(dir.path()))
        };
        let compiles = |runtime: &Runtime| Component::new(runtime.engine(), &bytes).is_ok();
        let load_fresh = |keep| {
            let runtime = fresh();
            let (component, loaded) = runtime.compile_known(&bytes, digest, keep).unwrap();
            (runtime, component, loaded)
        };

        // Nothing cached: the run compiles, with the compiler.
        let (runtime, _, loaded) = load_fresh(Keep::UntilExit);
        assert_eq!(loaded, Loaded::Compiled);
        assert!(compiles(&runtime));

        // Cached: a run that ends the process loads it into an engine without a compiler,
        // which becomes the runtime's, and runs it.
        let (runtime, component, loaded) = load_fresh(Keep::UntilExit);
        assert_ne!(loaded, Loaded::Compiled);
        assert!(!compiles(&runtime), "the run's engine has no compiler");
        assert_eq!(answer(&runtime, &component), 42);

        // Code kept with its component (a runtime that may go on to compile others): the
        // engine has the compiler.
        let (runtime, _, loaded) = load_fresh(Keep::WithComponent);
        assert_eq!(loaded, Loaded::Copied);
        assert!(compiles(&runtime));

        // A damaged entry is never loaded by the engine without a compiler either: the run
        // compiles again, with the compiler.
        damage_every_blob(dir.path());
        let (runtime, component, loaded) = load_fresh(Keep::UntilExit);
        assert_eq!(loaded, Loaded::Compiled);
        assert!(compiles(&runtime));
        assert_eq!(answer(&runtime, &component), 42);

        // An engine asked for before anything was loaded has the compiler, and cached code of
        // a run then loads into it.
        let runtime = fresh();
        assert!(compiles(&runtime));
        let (component, loaded) = runtime
            .compile_known(&bytes, digest, Keep::UntilExit)
            .unwrap();
        assert_ne!(loaded, Loaded::Compiled);
        assert_eq!(answer(&runtime, &component), 42);
    }

    #[test]
    fn the_exec_key_names_the_component_the_configuration_and_this_cpu() {
        let digest = Digest::of(b"component");
        let plain = Runtime::new(&Policy::default()).unwrap();
        assert_eq!(
            plain.exec_key(&digest),
            Runtime::new(&Policy::default()).unwrap().exec_key(&digest)
        );
        assert_ne!(
            plain.exec_key(&digest),
            plain.exec_key(&Digest::of(b"another"))
        );
        let mut fueled = Policy::default();
        fueled.fuel = Some(1);
        assert_ne!(
            plain.exec_key(&digest),
            Runtime::new(&fueled).unwrap().exec_key(&digest)
        );
        // The key is made of the configuration's record and this CPU: another CPU's differs.
        let record = compose_engine::Compatibility::here(&Policy::default()).line();
        let key_on = |cpu: &str| {
            let mut material = digest.as_bytes().to_vec();
            material.extend_from_slice(
                Digest::of(format!("{record} native={cpu}").as_bytes()).as_bytes(),
            );
            material.extend_from_slice(b"exec:v2");
            Digest::of(&material)
        };
        assert_eq!(
            plain.exec_key(&digest),
            key_on(&compose_engine::native_cpu())
        );
        assert_ne!(plain.exec_key(&digest), key_on("x86_64+sse3"));
    }
}
