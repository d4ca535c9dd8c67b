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

/// Whether code runs in place on this machine: a supported platform whose pages are the
/// 4 KiB generated code aligns to.
fn in_place_here() -> bool {
    SUPPORTED && rustix::param::page_size() == crate::embedded::PAGE
}

/// Code regions used in place so far, by address. Wasmtime registers every loaded code region
/// by its address (to tell its traps from other faults) and asserts that no region is
/// registered twice, so two components alive at once must not share code memory. Each region is
/// therefore used in place once per process, by its first load; later loads (a binary that
/// loads its composition again, tests) copy it, as without this module.
static CLAIMED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Whether `code`, the contents of a [`crate::PageAligned`] or of leaked [`Pages`], is to be
/// used in place (and claims it): this platform supports it, its pages are the 4 KiB generated
/// code aligns to, and no earlier load used it in place.
pub(crate) fn claim_in_place(code: &[u8]) -> bool {
    let address = code.as_ptr() as usize;
    if !in_place_here() || !address.is_multiple_of(crate::embedded::PAGE) {
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
/// `code` must be what `Component::deserialize` may be given (see the caller's argument), in
/// pages of its own (the contents of a [`crate::PageAligned`], or leaked [`Pages`]), and
/// claimed with [`claim_in_place`] (so no other component uses it). Being `'static` and behind
/// a shared reference, it outlives the component and is never written, which is what
/// `deserialize_raw` adds.
pub(crate) unsafe fn deserialize(
    engine: &Engine,
    code: &'static [u8],
) -> wasmtime::Result<Component> {
    // SAFETY: the caller's contract, and the lifetime and immutability above.
    unsafe { Component::deserialize_raw(engine, NonNull::from(code)) }
}

/// Page-aligned memory of its own (an anonymous mapping) for compiled code read from the
/// cache, so that a process that ends with its run can use the code where it was read
/// ([`Pages::leak`]) rather than have Wasmtime copy it once more. Unmapped when dropped.
#[cfg(feature = "jit")]
pub(crate) struct Pages {
    start: NonNull<u8>,
    /// Bytes asked for.
    len: usize,
    /// Bytes mapped: `len` rounded up to whole pages.
    mapped: usize,
}

#[cfg(feature = "jit")]
impl Pages {
    /// `len` bytes of zeroed, writable memory in pages of their own, the pages faulted in at
    /// once (one system call, not a fault per page); `None` where code is not used in place
    /// (see [`claim_in_place`]), for no bytes, or when the system refuses the mapping.
    pub(crate) fn new(len: usize) -> Option<Pages> {
        if !in_place_here() || len == 0 {
            return None;
        }
        let mapped = len.checked_next_multiple_of(crate::embedded::PAGE)?;
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a new private anonymous mapping at an address the kernel picks: it aliases
        // nothing, and only this value refers to it.
        let start = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                mapped,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::POPULATE,
            )
        }
        .ok()?;
        Some(Pages {
            start: NonNull::new(start.cast())?,
            len,
            mapped,
        })
    }

    /// Makes the pages read-only and leaks them: the bytes stay where they are, unchanged,
    /// until the process exits, which is what [`deserialize`] needs of its `code`. Only for a
    /// process that ends with its run (`Composition::run_to_exit`): each call keeps its
    /// memory for good. `None` (the pages unmapped) if `mprotect` fails.
    pub(crate) fn leak(self) -> Option<&'static [u8]> {
        // SAFETY: the whole mapping, which this value owns; the `&mut` borrows of it ended with
        // the calls that filled it, and the only reference made from now on is shared.
        unsafe {
            protect(
                self.start.as_ptr(),
                self.mapped,
                rustix::mm::MprotectFlags::READ,
            )
        }
        .ok()?;
        let pages = std::mem::ManuallyDrop::new(self);
        // SAFETY: `len` bytes of the mapping, initialized (zeroed, then filled), never unmapped
        // (the value is not dropped) and read-only from now on.
        Some(unsafe { std::slice::from_raw_parts(pages.start.as_ptr(), pages.len) })
    }
}

#[cfg(feature = "jit")]
impl AsRef<[u8]> for Pages {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `len` initialized bytes of a mapping this value owns; shared through `&self`.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

#[cfg(feature = "jit")]
impl AsMut<[u8]> for Pages {
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and exclusive through `&mut self`; writable until `leak`.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

#[cfg(feature = "jit")]
impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping this value made and owns; no reference to it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.start.as_ptr().cast(), self.mapped) };
    }
}
