//! Linking the synchronous WASI interfaces a run's component imports, and no others.
//!
//! `wasmtime_wasi::p2::add_to_linker_sync` defines every WASI 0.2 interface, some 150
//! functions, each name interned and entered in the linker's maps: about a tenth of a
//! `compose!` binary's start (bench/README.md). A hello-world command imports a third of them.
//! The list below is that function's (wasmtime-wasi 50), one row per interface; when the
//! component imports a WASI interface the list lacks (a newer wasmtime-wasi's), the run links
//! everything as before, so nothing is left undefined by omission.
//!
//! Written by hand because wasmtime-wasi links per interface but offers no "what this component
//! imports" entry point.

use std::collections::BTreeSet;

use wasmtime::Engine;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets, sync};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};

use super::state::HostState;

/// Adds one interface to a linker.
type Add = fn(&mut Linker<HostState>) -> wasmtime::Result<()>;

/// `wasi:io`'s interfaces see the resource table alone.
struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(h: &mut HostState) -> &mut ResourceTable {
    h.table()
}

/// Every interface `add_to_linker_sync` defines, by name without its version.
const INTERFACES: &[(&str, Add)] = &[
    ("wasi:clocks/wall-clock", |l| {
        clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)
    }),
    ("wasi:clocks/monotonic-clock", |l| {
        clocks::monotonic_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)
    }),
    ("wasi:filesystem/preopens", |l| {
        filesystem::preopens::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)
    }),
    ("wasi:filesystem/types", |l| {
        sync::filesystem::types::add_to_linker::<HostState, WasiFilesystem>(
            l,
            HostState::filesystem,
        )
    }),
    ("wasi:random/random", |l| {
        random::random::add_to_linker::<HostState, WasiRandom>(l, HostState::random)
    }),
    ("wasi:random/insecure", |l| {
        random::insecure::add_to_linker::<HostState, WasiRandom>(l, HostState::random)
    }),
    ("wasi:random/insecure-seed", |l| {
        random::insecure_seed::add_to_linker::<HostState, WasiRandom>(l, HostState::random)
    }),
    ("wasi:cli/exit", |l| {
        cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/environment", |l| {
        cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/stdin", |l| {
        cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/stdout", |l| {
        cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/stderr", |l| {
        cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/terminal-input", |l| {
        cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/terminal-output", |l| {
        cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/terminal-stdin", |l| {
        cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/terminal-stdout", |l| {
        cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:cli/terminal-stderr", |l| {
        cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)
    }),
    ("wasi:sockets/tcp-create-socket", |l| {
        sockets::tcp_create_socket::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)
    }),
    ("wasi:sockets/instance-network", |l| {
        sockets::instance_network::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)
    }),
    ("wasi:sockets/network", |l| {
        let options = sockets::network::LinkOptions::default();
        sockets::network::add_to_linker::<HostState, WasiSockets>(l, &options, HostState::sockets)
    }),
    ("wasi:sockets/tcp", |l| {
        sync::sockets::tcp::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)
    }),
    ("wasi:sockets/udp", |l| {
        sync::sockets::udp::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)
    }),
    ("wasi:sockets/udp-create-socket", |l| {
        sync::sockets::udp_create_socket::add_to_linker::<HostState, WasiSockets>(
            l,
            HostState::sockets,
        )
    }),
    ("wasi:sockets/ip-name-lookup", |l| {
        sync::sockets::ip_name_lookup::add_to_linker::<HostState, WasiSockets>(
            l,
            HostState::sockets,
        )
    }),
    ("wasi:io/error", |l| {
        wasmtime_wasi::p2::bindings::io::error::add_to_linker::<HostState, HasTable>(l, table)
    }),
    ("wasi:io/poll", |l| {
        sync::io::poll::add_to_linker::<HostState, HasTable>(l, table)
    }),
    ("wasi:io/streams", |l| {
        sync::io::streams::add_to_linker::<HostState, HasTable>(l, table)
    }),
];

/// The WASI interfaces `component` imports, by name without version.
fn imported(engine: &Engine, component: &Component) -> BTreeSet<String> {
    component
        .component_type()
        .imports(engine)
        .filter(|(name, _)| name.starts_with("wasi:"))
        .map(|(name, _)| name.split('@').next().unwrap_or(name).to_owned())
        .collect()
}

/// Adds to `linker` the synchronous WASI interfaces `component` imports (all of them if it
/// imports one this list does not know); with `bounded` (the run has a deadline), `wasi:io`'s
/// waits end at it (`io.rs`).
pub(crate) fn add_imported(
    linker: &mut Linker<HostState>,
    engine: &Engine,
    component: &Component,
    bounded: bool,
) -> wasmtime::Result<()> {
    let imported = imported(engine, component);
    let known = |name: &String| INTERFACES.iter().any(|(n, _)| n == name);
    if !imported.iter().all(known) {
        wasmtime_wasi::p2::add_to_linker_sync(linker)?;
        return match bounded {
            true => super::io::bound_waits(linker),
            false => Ok(()),
        };
    }
    for (name, add) in INTERFACES {
        if !imported.contains(*name) {
            continue;
        }
        match (*name, bounded) {
            ("wasi:io/poll", true) => super::io::add_poll(linker)?,
            ("wasi:io/streams", true) => super::io::add_streams(linker)?,
            _ => add(linker)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row adds interfaces `add_to_linker_sync` defines: adding it again to a linker that
    /// has them all is refused as a second definition.
    #[test]
    fn every_row_is_part_of_add_to_linker_sync() {
        let engine = Engine::default();
        let mut all: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut all).unwrap();
        for (name, add) in INTERFACES {
            assert!(
                add(&mut all).is_err(),
                "`{name}` is not among wasmtime-wasi's"
            );
        }
    }

    /// One item of each interface: a function, or (for interfaces that have none) a resource.
    const ITEMS: &[(&str, &str)] = &[
        ("wasi:clocks/wall-clock", "now"),
        ("wasi:clocks/monotonic-clock", "now"),
        ("wasi:filesystem/preopens", "get-directories"),
        ("wasi:filesystem/types", "filesystem-error-code"),
        ("wasi:random/random", "get-random-u64"),
        ("wasi:random/insecure", "get-insecure-random-u64"),
        ("wasi:random/insecure-seed", "insecure-seed"),
        ("wasi:cli/exit", "exit"),
        ("wasi:cli/environment", "get-environment"),
        ("wasi:cli/stdin", "get-stdin"),
        ("wasi:cli/stdout", "get-stdout"),
        ("wasi:cli/stderr", "get-stderr"),
        ("wasi:cli/terminal-input", "resource terminal-input"),
        ("wasi:cli/terminal-output", "resource terminal-output"),
        ("wasi:cli/terminal-stdin", "get-terminal-stdin"),
        ("wasi:cli/terminal-stdout", "get-terminal-stdout"),
        ("wasi:cli/terminal-stderr", "get-terminal-stderr"),
        ("wasi:sockets/tcp-create-socket", "create-tcp-socket"),
        ("wasi:sockets/instance-network", "instance-network"),
        ("wasi:sockets/network", "resource network"),
        ("wasi:sockets/tcp", "resource tcp-socket"),
        ("wasi:sockets/udp", "resource udp-socket"),
        ("wasi:sockets/udp-create-socket", "create-udp-socket"),
        ("wasi:sockets/ip-name-lookup", "resolve-addresses"),
        ("wasi:io/error", "resource error"),
        ("wasi:io/poll", "poll"),
        ("wasi:io/streams", "resource input-stream"),
    ];

    /// Every row links the interface it names: in a linker holding that row alone, an item of
    /// the interface (imported at the oldest WASI 0.2 version) is found, not missing. A
    /// resource matches outright; a function is imported with a type it does not have, so
    /// that a found one is a type mismatch and a missing one is reported as missing.
    #[cfg(feature = "jit")]
    #[test]
    fn every_row_links_the_interface_it_names() {
        let engine = Engine::default();
        assert_eq!(ITEMS.len(), INTERFACES.len());
        for ((name, add), (item_of, item)) in INTERFACES.iter().zip(ITEMS) {
            assert_eq!(name, item_of);
            let export = match item.strip_prefix("resource ") {
                Some(resource) => format!("(export \"{resource}\" (type (sub resource)))"),
                None => format!("(export \"{item}\" (func (param \"no-such\" string)))"),
            };
            let wat = format!("(component (import \"{name}@0.2.0\" (instance {export})))");
            let component = Component::new(&engine, wat::parse_str(&wat).unwrap()).unwrap();
            let missing = |linker: &Linker<HostState>| match linker.instantiate_pre(&component) {
                Ok(_) => false,
                Err(e) => format!("{e:#}").contains("implementation is missing"),
            };
            let mut linker: Linker<HostState> = Linker::new(&engine);
            assert!(missing(&linker), "{name}: found in an empty linker");
            add(&mut linker).unwrap();
            assert!(
                !missing(&linker),
                "the row `{name}` does not define `{item}`"
            );
        }
    }
}
