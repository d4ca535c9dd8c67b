//! `wasi:io/poll` and `wasi:io/streams` for synchronous runs (`exec run`, embedded binaries,
//! typed calls) whose plan sets a deadline (`policy.timeout-ms`): the same as wasmtime-wasi's,
//! but every wait ends at the deadline.
//!
//! Epoch interruption stops code running in the guest; it cannot stop a guest that waits in a
//! host call (sleeping on a `monotonic-clock` pollable, reading a standard input that never
//! ends, writing to a pipe nobody reads: under a deadline stdout and stderr are written by a
//! task, `wasi.rs`, so that too is a wait here). In WASI 0.2 every such wait is either a pollable
//! (`poll`, `pollable.block`: timers, sockets, outgoing HTTP, stream readiness) or a blocking
//! stream operation (`blocking-read`, `blocking-write-and-flush`, …). wasmtime-wasi's synchronous
//! host blocks on the futures of its asynchronous one; a run with a deadline links, in place of
//! its two interfaces (`wasi_sync.rs`; over them, with shadowing, when it links all of WASI),
//! ones that race the same futures against the deadline, and trap with `Trap::Interrupt`
//! (reported as `E0504`, like the epoch deadline) when it passes. The non-blocking functions
//! are wasmtime-wasi's own, called through.
//!
//! Servers need none of this: a request runs as a future, and `serve.rs` drops it at the
//! deadline, which cancels whatever host call it waits in.

use std::future::Future;

use tokio::time::Instant;
use wasmtime::Trap;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::io::{poll as async_poll, streams as async_streams};
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, StreamError, StreamResult};
use wasmtime_wasi::runtime::in_tokio;

use super::state::HostState;

/// A store's resource table and the instant its waits end (none: they wait as long as it
/// takes).
pub(crate) struct Waits<'a> {
    table: &'a mut ResourceTable,
    deadline: Option<Instant>,
}

/// The [`HasData`] of [`Waits`], for `add_to_linker`.
struct HasWaits;

impl HasData for HasWaits {
    type Data<'a> = Waits<'a>;
}

/// Replaces the waiting functions of `wasi:io/poll` and `wasi:io/streams` in a synchronous
/// run's linker (after wasmtime-wasi's) with ones bounded by the store's deadline.
pub(crate) fn bound_waits(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = add_poll(linker).and_then(|()| add_streams(linker));
    linker.allow_shadowing(false);
    added
}

/// `wasi:io/poll`, its waits bounded by the store's deadline.
pub(crate) fn add_poll(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    poll::add_to_linker::<HostState, HasWaits>(linker, HostState::waits)
}

/// `wasi:io/streams`, its waits bounded by the store's deadline.
pub(crate) fn add_streams(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    streams::add_to_linker::<HostState, HasWaits>(linker, HostState::waits)
}

impl<'a> Waits<'a> {
    /// The waits of a store whose deadline is `deadline`.
    pub(crate) fn new(table: &'a mut ResourceTable, deadline: Option<Instant>) -> Self {
        Waits { table, deadline }
    }
}

/// What a guest was waiting in when its deadline passed (a host function, in backticks): the
/// context of the trap.
#[derive(Debug)]
pub(crate) struct WaitPassed(pub(crate) &'static str);

impl std::fmt::Display for WaitPassed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the guest was waiting in {} when its deadline passed",
            self.0
        )
    }
}

impl std::error::Error for WaitPassed {}

/// The error of a wait cut off at the deadline: the epoch deadline's trap, naming the wait.
pub(crate) fn passed(what: &'static str) -> wasmtime::Error {
    wasmtime::Error::from(Trap::Interrupt).context(WaitPassed(what))
}

/// Waits for `future` on the current Tokio runtime (as wasmtime-wasi's synchronous host does),
/// at most until `deadline`.
fn wait<T>(
    deadline: Option<Instant>,
    what: &'static str,
    future: impl Future<Output = T>,
) -> wasmtime::Result<T> {
    in_tokio(async move {
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, future)
                .await
                .map_err(|_| passed(what)),
            None => Ok(future.await),
        }
    })
}

/// [`wait`] for a stream operation, whose trap travels inside its `StreamError`.
fn wait_stream<T>(
    deadline: Option<Instant>,
    what: &'static str,
    future: impl Future<Output = StreamResult<T>>,
) -> StreamResult<T> {
    wait(deadline, what, future).map_err(StreamError::Trap)?
}

impl poll::Host for Waits<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let table = &mut *self.table;
        wait(
            self.deadline,
            "`wasi:io/poll.poll`",
            async_poll::Host::poll(table, pollables),
        )?
    }
}

impl poll::HostPollable for Waits<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        poll::HostPollable::ready(self.table, pollable)
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        let table = &mut *self.table;
        let block = async_poll::HostPollable::block(table, pollable);
        wait(self.deadline, "`wasi:io/poll.pollable.block`", block)?
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        poll::HostPollable::drop(self.table, pollable)
    }
}

impl streams::Host for Waits<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(self.table, err)
    }
}

impl streams::HostInputStream for Waits<'_> {
    fn drop(&mut self, stream: Resource<DynInputStream>) -> wasmtime::Result<()> {
        streams::HostInputStream::drop(self.table, stream)
    }

    fn read(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<Vec<u8>> {
        streams::HostInputStream::read(self.table, stream, len)
    }

    fn blocking_read(
        &mut self,
        stream: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        let read = async_streams::HostInputStream::blocking_read(&mut *self.table, stream, len);
        wait_stream(
            self.deadline,
            "`wasi:io/streams.input-stream.blocking-read`",
            read,
        )
    }

    fn skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        streams::HostInputStream::skip(self.table, stream, len)
    }

    fn blocking_skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        let skip = async_streams::HostInputStream::blocking_skip(&mut *self.table, stream, len);
        wait_stream(
            self.deadline,
            "`wasi:io/streams.input-stream.blocking-skip`",
            skip,
        )
    }

    fn subscribe(
        &mut self,
        stream: Resource<DynInputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostInputStream::subscribe(self.table, stream)
    }
}

impl streams::HostOutputStream for Waits<'_> {
    fn drop(&mut self, stream: Resource<DynOutputStream>) -> wasmtime::Result<()> {
        streams::HostOutputStream::drop(self.table, stream)
    }

    fn check_write(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<u64> {
        streams::HostOutputStream::check_write(self.table, stream)
    }

    fn write(&mut self, stream: Resource<DynOutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        streams::HostOutputStream::write(self.table, stream, bytes)
    }

    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        let write = async_streams::HostOutputStream::blocking_write_and_flush(
            &mut *self.table,
            stream,
            bytes,
        );
        let what = "`wasi:io/streams.output-stream.blocking-write-and-flush`";
        wait_stream(self.deadline, what, write)
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        let write = async_streams::HostOutputStream::blocking_write_zeroes_and_flush(
            &mut *self.table,
            stream,
            len,
        );
        let what = "`wasi:io/streams.output-stream.blocking-write-zeroes-and-flush`";
        wait_stream(self.deadline, what, write)
    }

    fn subscribe(
        &mut self,
        stream: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostOutputStream::subscribe(self.table, stream)
    }

    fn write_zeroes(&mut self, stream: Resource<DynOutputStream>, len: u64) -> StreamResult<()> {
        streams::HostOutputStream::write_zeroes(self.table, stream, len)
    }

    fn flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        streams::HostOutputStream::flush(self.table, stream)
    }

    fn blocking_flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        let flush = async_streams::HostOutputStream::blocking_flush(&mut *self.table, stream);
        wait_stream(
            self.deadline,
            "`wasi:io/streams.output-stream.blocking-flush`",
            flush,
        )
    }

    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        streams::HostOutputStream::splice(self.table, dst, src, len)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        let splice =
            async_streams::HostOutputStream::blocking_splice(&mut *self.table, dst, src, len);
        wait_stream(
            self.deadline,
            "`wasi:io/streams.output-stream.blocking-splice`",
            splice,
        )
    }
}
