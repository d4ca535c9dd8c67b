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
/// imports one this list does not know).
pub(crate) fn add_imported(
    linker: &mut Linker<HostState>,
    engine: &Engine,
    component: &Component,
) -> wasmtime::Result<()> {
    let imported = imported(engine, component);
    let known = |name: &String| INTERFACES.iter().any(|(n, _)| n == name);
    if !imported.iter().all(known) {
        return wasmtime_wasi::p2::add_to_linker_sync(linker);
    }
    for (name, add) in INTERFACES {
        if imported.contains(*name) {
            add(linker)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row adds interfaces `add_to_linker_sync` defines: adding it again to a linker that
    /// has them all is refused as a second definition. (Each row's name is checked by the runs
    /// of real guests, which import most of them: a row linking another interface than it
    /// names leaves that guest's import undefined.)
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
}
