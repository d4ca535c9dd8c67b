//! `composectl emit`: build one composed component from a plan.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;
use compose_build::{BlobStore, EmitOptions};

use crate::io;

/// Build composed components from plans.
#[derive(Subcommand)]
#[command(defer = true)]
pub enum EmitCommand {
    /// Resolve, check and compose the plan's components into one component.
    ///
    /// `crate` sources are built for wasm32-wasip2 from the nearest Cargo workspace above the
    /// plan (or `--workspace`). Results are cached by content in the blob store
    /// (`$COMPOSE_CACHE_DIR`, else `$XDG_CACHE_HOME/compose`, else `~/.cache/compose`).
    Build {
        /// The plan (TOML or canonical CBOR).
        plan: PathBuf,
        /// Where to write the component. Written atomically (readers see the old file or the
        /// whole new one), not flushed to disk: it is rebuilt from the plan.
        #[arg(short, long)]
        output: PathBuf,
        /// The Cargo workspace `crate` sources come from.
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Where guest crates are built (default: the workspace's `target/`).
        #[arg(long)]
        guest_target_dir: Option<PathBuf>,
        /// The blob store (default: see above).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Compose again even when the cache has the result.
        #[arg(long)]
        no_cache: bool,
    },
}

impl EmitCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let EmitCommand::Build {
            plan,
            output,
            workspace,
            guest_target_dir,
            cache_dir,
            no_cache,
        } = self;
        let mut options = EmitOptions::default();
        if let Some(w) = workspace {
            options = options.workspace(w);
        }
        if let Some(t) = guest_target_dir {
            options = options.guest_target_dir(t);
        }
        if let Some(store) = cache_dir
            .map(BlobStore::new)
            .or_else(BlobStore::default_location)
        {
            options = options.cache(store, !no_cache);
        }
        let start = Instant::now();
        let emitted = match compose_build::emit(&plan, &options) {
            Ok(e) => e,
            Err(e) => {
                eprint!("{}", e.render());
                let n = e.diagnostics.len();
                eprintln!(
                    "error: cannot emit `{}`: {n} error{}",
                    plan.display(),
                    if n == 1 { "" } else { "s" }
                );
                return Ok(ExitCode::FAILURE);
            }
        };
        io::write_rebuildable(&output, &emitted.bytes)?;
        // One write: standard error is unbuffered, and a formatted line would otherwise be
        // written piece by piece.
        let line = format!(
            "{} {} ({} bytes, {}) in {:.0?}{}\n",
            if emitted.cached { "reused" } else { "composed" },
            output.display(),
            emitted.bytes.len(),
            emitted.digest,
            start.elapsed(),
            if emitted.cached {
                " from the cache"
            } else {
                ""
            },
        );
        eprint!("{line}");
        Ok(ExitCode::SUCCESS)
    }
}
