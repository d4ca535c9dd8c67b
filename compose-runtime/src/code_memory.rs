//! Precompiled code run where it lies in the binary, not copied.
//!
//! Wasmtime's `Component::deserialize` copies code into fresh memory, then makes that memory
//! executable: for a `compose!` binary that is a copy of code already in the binary, and a page
//! fault for each page of the copy (the largest single cost of a small binary's start on the
//! machines we measure: bench/README.md). `Component::deserialize_raw` uses the bytes where
//! they are instead, but only through an engine with a custom code memory, which makes the
//! code's pages executable: [`InPlace`], with `mprotect`. Generated code embeds the precompiled
//! code in a [`crate::PageAligned`] (`compose-build`'s codegen): page-aligned, which is what the
//! code's text section needs, and in whole pages of its own, so that changing their permissions
//! touches nothing else.
//!
//! Only on x86-64 Linux: there, instruction fetches see what is in memory without a cache
//! maintenance step (which other architectures need and Wasmtime's own loader does for them),
//! and the page size is 4 KiB, the alignment generated code gives the code on x86-64. Elsewhere,
//! and for code that is not page-aligned, the runtime copies as before.
//!
//! Written by hand because it is Wasmtime's own extension point: no crate provides it.
//! The workspace denies `unsafe`; this module is the exception, each block with its argument.
#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use wasmtime::component::Component;
use wasmtime::{Config, CustomCodeMemory, Engine};

/// Whether this build maps code in place at all.
const SUPPORTED: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));

/// Makes code pages executable with `mprotect`, for code in memory Wasmtime does not own.
struct InPlace {
    page: usize,
}

impl CustomCodeMemory for InPlace {
    fn required_alignment(&self) -> usize {
        self.page
    }

    fn publish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        // SAFETY: Wasmtime passes the page-aligned text section of code it loaded (the
        // binary's read-only bytes, or memory it mapped and made read-only itself); making it
        // readable and executable, never writable, changes nothing else.
        unsafe {
            protect(
                ptr,
                len,
                rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::EXEC,
            )
        }
    }

    fn unpublish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        // Read-only, not read-write as Wasmtime's docs suggest: Wasmtime calls this when it
        // drops the code (then unmaps memory it owns), and the binary's bytes must never
        // become writable. Nothing in this crate patches code in place.
        //
        // SAFETY: as above; only the same pages lose their execute permission.
        unsafe { protect(ptr, len, rustix::mm::MprotectFlags::READ) }
    }
}

/// `mprotect` of the pages `ptr..ptr + len` touch.
///
/// # Safety
/// The range must be memory this process mapped and no Rust reference may expect it writable.
unsafe fn protect(
    ptr: *const u8,
    len: usize,
    flags: rustix::mm::MprotectFlags,
) -> wasmtime::Result<()> {
    // SAFETY: the caller's contract.
    unsafe { rustix::mm::mprotect(ptr.cast_mut().cast(), len, flags) }
        .map_err(|e| wasmtime::format_err!("mprotect of {len} bytes of code failed: {e}"))
}

/// Adds the in-place code memory to a runtime engine's `config` (x86-64 Linux only).
pub(crate) fn configure(config: &mut Config) {
    if SUPPORTED {
        let page = rustix::param::page_size();
        config.with_custom_code_memory(Some(Arc::new(InPlace { page })));
    }
}

/// Code regions used in place so far, by address. Wasmtime registers every loaded code region
/// by its address (to tell its traps from other faults) and asserts that no region is
/// registered twice, so two components alive at once must not share code memory. Each region is
/// therefore used in place once per process, by its first load; later loads (a binary that
/// loads its composition again, tests) copy it, as without this module.
static CLAIMED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Whether `code`, the contents of a [`crate::PageAligned`], is to be used in place (and claims
/// it): this platform supports it, its pages are the 4 KiB the type aligns to, and no earlier
/// load used it in place.
pub(crate) fn claim_in_place(code: &[u8]) -> bool {
    let address = code.as_ptr() as usize;
    if !SUPPORTED
        || rustix::param::page_size() != crate::embedded::PAGE
        || !address.is_multiple_of(crate::embedded::PAGE)
    {
        return false;
    }
    let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
    if claimed.contains(&address) {
        return false;
    }
    claimed.push(address);
    true
}

/// Loads `code` without copying it, through an engine [`configure`]d for it.
///
/// # Safety
/// `code` must be what `Component::deserialize` may be given (see the caller's argument), the
/// contents of a [`crate::PageAligned`] (so the pages it spans are its own), and claimed with
/// [`claim_in_place`] (so no other component uses it). Being `'static` and behind a shared reference, it outlives the component
/// and is never written, which is what `deserialize_raw` adds.
pub(crate) unsafe fn deserialize(
    engine: &Engine,
    code: &'static [u8],
) -> wasmtime::Result<Component> {
    // SAFETY: the caller's contract, and the lifetime and immutability above.
    unsafe { Component::deserialize_raw(engine, NonNull::from(code)) }
}
