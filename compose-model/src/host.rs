//! The host's interfaces: which WIT packages a host provides and how, in one table used by emit
//! (which imports the host satisfies) and by the runtime (what it links).

use crate::plan::Capability;

/// How a host provides a package's interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provided {
    /// WASI 0.2, linked for every run without a binding in the plan; what a guest can do
    /// through it is what the run is allowed (its WASI context is built deny-by-default).
    Wasi,
    /// `wasi:http`: linked by `exec serve`, which hands requests in and lets outgoing ones
    /// leave only for the plan's `http` allowlist; `exec run` refuses it.
    Serve,
    /// The project's own packages: linked only for imports the plan binds to the host
    /// (`{ host = "<capability>" }`), for a component that requests that capability.
    Bound(Capability),
}

/// A WIT package the host provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostPackage {
    /// The package name without version, e.g. `wasi:cli`.
    pub package: &'static str,
    /// How the host provides it.
    pub provided: Provided,
    /// The major version the host implements, e.g. `"0.2"` or `"1"`: an import of another
    /// version is not this host's.
    pub version: &'static str,
}

const fn package(package: &'static str, provided: Provided, version: &'static str) -> HostPackage {
    HostPackage {
        package,
        provided,
        version,
    }
}

/// Every package a host of this release knows, whether or not it implements it yet (see
/// [`crate::plan::UNIMPLEMENTED_CAPABILITIES`]).
pub const HOST_PACKAGES: &[HostPackage] = &[
    package("wasi:cli", Provided::Wasi, "0.2"),
    package("wasi:io", Provided::Wasi, "0.2"),
    package("wasi:clocks", Provided::Wasi, "0.2"),
    package("wasi:random", Provided::Wasi, "0.2"),
    package("wasi:filesystem", Provided::Wasi, "0.2"),
    package("wasi:sockets", Provided::Wasi, "0.2"),
    package("wasi:http", Provided::Serve, "0.2"),
    package("std:secrets", Provided::Bound(Capability::Secrets), "1"),
    package("std:metrics", Provided::Bound(Capability::Metrics), "1"),
    package("std:audit", Provided::Bound(Capability::Audit), "1"),
    package("std:attest", Provided::Bound(Capability::Attest), "1"),
];

/// The host package an interface name (`ns:pkg/iface`, with or without `@version`) belongs to.
/// A versioned name must be of the major version the host implements.
pub fn host_package(interface: &str) -> Option<&'static HostPackage> {
    let (package, rest) = interface.split_once('/')?;
    let version = rest.split_once('@').map(|(_, v)| v);
    HOST_PACKAGES.iter().find(|p| {
        p.package == package
            && version.is_none_or(|v| {
                v.strip_prefix(p.version)
                    .is_some_and(|r| r.is_empty() || r.starts_with('.'))
            })
    })
}

/// Whether the interface name `name` (as a binary writes it, usually with `@version`) is the
/// one a plan writes as `plan_name`: the same, or the same once `name`'s version is dropped.
pub fn same_interface(name: &str, plan_name: &str) -> bool {
    name == plan_name || name.split('@').next() == Some(plan_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_find_their_package_and_version() {
        let p = host_package("wasi:cli/stdout@0.2.3").unwrap();
        assert_eq!((p.package, p.provided), ("wasi:cli", Provided::Wasi));
        assert!(host_package("wasi:cli/stdout").is_some());
        assert!(host_package("wasi:cli/stdout@0.3.0").is_none());
        assert!(host_package("wasi:cli/stdout@0.20.0").is_none());
        assert_eq!(
            host_package("std:secrets/store@1.0.0").unwrap().provided,
            Provided::Bound(Capability::Secrets)
        );
        assert!(host_package("std:secrets/store@2.0.0").is_none());
        assert!(host_package("wasi:keyvalue/store@0.2.0").is_none());
        assert!(host_package("example:greet/greeter").is_none());
    }

    #[test]
    fn names_match_with_or_without_version() {
        assert!(same_interface("a:b/c@1.0.0", "a:b/c"));
        assert!(same_interface("a:b/c@1.0.0", "a:b/c@1.0.0"));
        assert!(same_interface("a:b/c", "a:b/c"));
        assert!(!same_interface("a:b/c@1.0.0", "a:b/c@2.0.0"));
        assert!(!same_interface("a:b/cd@1.0.0", "a:b/c"));
    }
}
