//! What precompiled code needs of the engine and the machine that load it, recorded at build
//! time as one line of text and compared at load.
//!
//! Wasmtime offers its own compatibility hash only to builds that include a compiler, and a
//! hash cannot say what differs. This record can be made by either side, compiler or not: the
//! Wasmtime release, the target triple, the CPU features the code was compiled for (a fixed,
//! documented baseline, never the build machine's own CPU), and the configuration choices
//! `engine_config` makes from a plan. Wasmtime checks its own header again when it loads the
//! code (version, triple, compiler flags, wasm features), so a difference this record misses
//! is still refused, only with Wasmtime's wording.

use compose_model::plan::Policy;

/// The Wasmtime release this workspace pins (a test compares it with `Cargo.lock`).
pub const WASMTIME_VERSION: &str = "50.0.1";

/// The target triple this crate was compiled for: the runtime's own target on the runtime
/// side, and the build machine's on the build side (where it is the default precompile target
/// when Cargo's `TARGET` is not set, as for a proc macro).
pub const THIS_TARGET: &str = env!("COMPOSE_ENGINE_TARGET");

/// The CPU baseline precompiled code is compiled for on an architecture: a Cranelift preset
/// name and the host features it needs (`std::arch` detection names).
///
/// x86-64 code targets `x86-64-v2` (SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CMPXCHG16B: every
/// x86-64 CPU since about 2009), so a binary built on a newer machine runs on older ones. Other
/// architectures use Cranelift's defaults for the target, with no optional extension.
pub fn cpu_baseline(arch: &str) -> (&'static str, &'static [&'static str]) {
    match arch {
        "x86_64" => (
            "x86-64-v2",
            &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "cmpxchg16b"],
        ),
        _ => ("baseline", &[]),
    }
}

/// The engine and machine that precompiled code was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compatibility {
    /// The Wasmtime release.
    pub wasmtime: String,
    /// The target triple.
    pub target: String,
    /// The CPU baseline (see [`cpu_baseline`]).
    pub cpu: String,
    /// Whether fuel is metered (the only configuration choice a plan makes).
    pub fuel: bool,
}

impl Compatibility {
    /// The record for code compiled for `target` under `policy` by this build's Wasmtime.
    pub fn for_target(policy: &Policy, target: &str) -> Compatibility {
        let arch = target.split('-').next().unwrap_or_default();
        Compatibility {
            wasmtime: WASMTIME_VERSION.to_owned(),
            target: target.to_owned(),
            cpu: cpu_baseline(arch).0.to_owned(),
            fuel: policy.fuel.is_some(),
        }
    }

    /// The record this build would load: [`THIS_TARGET`] under `policy`.
    pub fn here(policy: &Policy) -> Compatibility {
        Compatibility::for_target(policy, THIS_TARGET)
    }

    /// The record as one line, e.g. `wasmtime=50.0.1 target=x86_64-unknown-linux-gnu
    /// cpu=x86-64-v2 fuel=off`: what is embedded next to the code.
    pub fn line(&self) -> String {
        format!(
            "wasmtime={} target={} cpu={} fuel={}",
            self.wasmtime,
            self.target,
            self.cpu,
            if self.fuel { "on" } else { "off" }
        )
    }

    /// Why code recorded as `recorded` (a [`Compatibility::line`]) cannot be loaded here under
    /// `policy`: each field that differs, then each CPU feature of its baseline this machine
    /// lacks. Empty when it fits.
    pub fn mismatches(recorded: &str, policy: &Policy) -> Vec<String> {
        let here = Compatibility::here(policy).line();
        let field = |line: &str, key: &str| -> Option<String> {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let mut out = Vec::new();
        for key in ["wasmtime", "target", "cpu", "fuel"] {
            let (was, is) = (field(recorded, key), field(&here, key));
            if was != is {
                out.push(format!(
                    "{key} is `{}` in the code, `{}` here",
                    was.as_deref().unwrap_or("(not recorded)"),
                    is.as_deref().unwrap_or("(unknown)")
                ));
            }
        }
        if recorded != here && out.is_empty() {
            out.push(format!("the code records `{recorded}`, this host `{here}`"));
        }
        let arch = THIS_TARGET.split('-').next().unwrap_or_default();
        let (preset, features) = cpu_baseline(arch);
        if field(recorded, "cpu").as_deref() == Some(preset) {
            let missing = lacking(features, host_has);
            if !missing.is_empty() {
                out.push(format!(
                    "this CPU lacks {} (needed by `{preset}` code)",
                    missing.join(", ")
                ));
            }
        }
        out
    }
}

/// The features of `needed` that `has` says this machine lacks (unknown ones are left to
/// Wasmtime's own check at load).
fn lacking(needed: &[&'static str], has: impl Fn(&str) -> Option<bool>) -> Vec<&'static str> {
    needed
        .iter()
        .copied()
        .filter(|f| has(f) == Some(false))
        .collect()
}

impl std::fmt::Display for Compatibility {
    /// [`Compatibility::line`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line())
    }
}

/// This machine's CPU as Wasmtime's compiler sees it when it compiles for the machine it runs
/// on (as the compiled-code cache's code is): on x86-64, each optional feature Cranelift may
/// use that this CPU has; elsewhere the architecture alone. Part of that cache's key, so that
/// machines sharing a cache folder keep their code apart; Wasmtime checks the code's own
/// record of the features it uses again when it loads it.
pub fn native_cpu() -> String {
    let arch = std::env::consts::ARCH;
    NATIVE_FEATURES
        .iter()
        .filter(|f| host_has(f) == Some(true))
        .fold(arch.to_owned(), |cpu, f| cpu + "+" + f)
}

/// The optional x86-64 features Cranelift may use when it compiles for the CPU it runs on (its
/// native detection), as [`host_has`] names them.
const NATIVE_FEATURES: &[&str] = &[
    "sse3",
    "ssse3",
    "cmpxchg16b",
    "sse4.1",
    "sse4.2",
    "popcnt",
    "avx",
    "avx2",
    "fma",
    "bmi1",
    "bmi2",
    "lzcnt",
    "avx512f",
    "avx512dq",
    "avx512vl",
    "avx512bitalg",
    "avx512vbmi",
];

/// Whether this machine's CPU has `feature` (a `std::arch` detection name); `None` when this
/// architecture has no such feature to detect.
pub fn host_has(feature: &str) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(match feature {
            "sse3" => std::arch::is_x86_feature_detected!("sse3"),
            "ssse3" => std::arch::is_x86_feature_detected!("ssse3"),
            "sse4.1" => std::arch::is_x86_feature_detected!("sse4.1"),
            "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
            "popcnt" => std::arch::is_x86_feature_detected!("popcnt"),
            "cmpxchg16b" => std::arch::is_x86_feature_detected!("cmpxchg16b"),
            "avx" => std::arch::is_x86_feature_detected!("avx"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
            "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
            "lzcnt" => std::arch::is_x86_feature_detected!("lzcnt"),
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            "avx512dq" => std::arch::is_x86_feature_detected!("avx512dq"),
            "avx512vl" => std::arch::is_x86_feature_detected!("avx512vl"),
            "avx512bitalg" => std::arch::is_x86_feature_detected!("avx512bitalg"),
            "avx512vbmi" => std::arch::is_x86_feature_detected!("avx512vbmi"),
            _ => return None,
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_wasmtime_is_the_one_in_the_lock_file() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let entry = format!("name = \"wasmtime\"\nversion = \"{WASMTIME_VERSION}\"");
        assert!(lock.contains(&entry), "Cargo.lock has no `{entry}`");
    }

    #[test]
    fn the_record_fits_here_and_names_each_difference() {
        let policy = Policy::default();
        let here = Compatibility::here(&policy);
        assert_eq!(here.target, THIS_TARGET);
        assert!(Compatibility::mismatches(&here.line(), &policy).is_empty());

        let mut other = here.clone();
        other.target = "riscv64gc-unknown-linux-gnu".into();
        other.wasmtime = "49.0.0".into();
        let why = Compatibility::mismatches(&other.line(), &policy);
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(
            why[0].starts_with("wasmtime is `49.0.0` in the code"),
            "{why:?}"
        );
        assert!(why[1].contains("riscv64gc-unknown-linux-gnu"), "{why:?}");

        let mut fueled = Policy::default();
        fueled.fuel = Some(1);
        let why = Compatibility::mismatches(&here.line(), &fueled);
        assert_eq!(why, ["fuel is `off` in the code, `on` here"]);

        let why = Compatibility::mismatches("sha256:0123", &policy);
        assert_eq!(why.len(), 4, "an old digest names every field: {why:?}");
    }

    #[test]
    fn missing_cpu_features_are_named() {
        let (_, needed) = cpu_baseline("x86_64");
        let old_cpu = |f: &str| Some(!matches!(f, "sse4.2" | "popcnt"));
        assert_eq!(lacking(needed, old_cpu), ["sse4.2", "popcnt"]);
        assert!(lacking(needed, |_| None).is_empty());
    }

    #[test]
    fn the_native_cpu_names_the_baseline_features_this_machine_has() {
        let cpu = native_cpu();
        assert!(cpu.starts_with(std::env::consts::ARCH), "{cpu}");
        assert_eq!(cpu, native_cpu());
        let arch = THIS_TARGET.split('-').next().unwrap_or_default();
        for f in cpu_baseline(arch).1 {
            assert_eq!(
                cpu.contains(&format!("+{f}")),
                host_has(f) == Some(true),
                "{f}"
            );
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn this_machine_meets_the_x86_64_baseline() {
        // The baseline is chosen so that any machine that runs this project's CI meets it.
        for f in cpu_baseline("x86_64").1 {
            assert_eq!(host_has(f), Some(true), "{f}");
        }
    }
}
