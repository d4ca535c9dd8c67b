//! Helper threads that start soon, on another core than their caller's.
//!
//! On the 2-core Linux VMs this project is measured on, a newly spawned thread often stays
//! queued on its parent's core until the parent blocks, rather than starting on the idle core
//! (a helper spawned to work beside its caller for a millisecond ran after it), and an idle
//! core sometimes takes up to a millisecond to start running anything. Measured: a helper
//! started 1 ms late while its caller worked 1 ms; allowed only on the other core, it started
//! within 0.1 ms. So a new helper may run on every core the process may use but its caller's.
//! That is a scheduling hint only: where it cannot be given (one core, another system, a
//! refused call), the thread runs as spawned.
//!
//! [`detach`] sets it from the caller's side right after creating the thread, through the
//! thread's handle, before the thread need have run at all: the caller never waits. [`spawn`]'s
//! scoped handles do not give the thread's `pthread_t`, so it waits a moment ([`HANDSHAKE`])
//! for the new thread to tell its id, and places it if it does (a thread that has not started
//! by then runs as spawned). So a caller that must not wait for its helper gives it work
//! through [`detach`], and does the work itself whenever the helper has not done it yet.

#[cfg(target_os = "linux")]
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
#[cfg(target_os = "linux")]
use std::time::Duration;

/// How long [`spawn`] waits for the new thread to start. A thread placed on the caller's core
/// starts within microseconds once the caller waits; one placed on a sleeping core may take a
/// millisecond, and is where it should be anyway.
#[cfg(target_os = "linux")]
const HANDSHAKE: Duration = Duration::from_micros(100);

/// Spawns `f` on a new thread of `scope`, kept off the caller's current core when it starts
/// soon enough to be moved (module doc), so that it runs beside the caller, not after it.
pub(crate) fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    let (handshake, f) = Handshake::around(f);
    let handle = scope.spawn(f);
    handshake.place();
    handle
}

/// Runs `f` on a new thread that nobody waits for, kept off the caller's current core from
/// the start (module doc): for work whose caller must never wait for it to start (it may
/// finish after its caller has moved on, or after the caller's scope has ended, so it owns
/// everything it uses).
pub(crate) fn detach(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::spawn(f);
    #[cfg(target_os = "linux")]
    keep_off_this_core(&handle);
}

/// The cores this process may use but the caller's current one; `None` if there is none.
#[cfg(target_os = "linux")]
fn other_cores() -> Option<Vec<usize>> {
    use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu};
    let allowed = sched_getaffinity(None).ok()?;
    let here = sched_getcpu();
    let others: Vec<usize> = (0..CpuSet::MAX_CPU)
        .filter(|&cpu| cpu != here && allowed.is_set(cpu))
        .collect();
    (!others.is_empty()).then_some(others)
}

/// Lets the thread of `handle` run on [`other_cores`] only, if there are any.
///
/// By hand, with libc: rustix sets a thread's affinity by its kernel thread id, which only the
/// thread itself can learn, so it meant waiting for the new thread to run and tell (0.1 ms of
/// the caller's time per helper, most of it the [`HANDSHAKE`] running out); glibc sets it by
/// the `pthread_t` the handle holds.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn keep_off_this_core(handle: &impl std::os::unix::thread::JoinHandleExt) {
    let Some(others) = other_cores() else {
        return;
    };
    // SAFETY: `cpu_set_t` is a plain bit array, for which all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in others {
        // SAFETY: `cpu` < `CpuSet::MAX_CPU`, the number of cores a `cpu_set_t` holds.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: the handle is borrowed, so its thread has been neither joined nor detached and
    // its `pthread_t` is valid (the thread may have ended: glibc keeps it until then); `set`
    // is a `cpu_set_t` of the size given. A refusal, an error code, leaves the thread as
    // spawned: correct, only slower.
    let _ = unsafe {
        libc::pthread_setaffinity_np(
            handle.as_pthread_t(),
            std::mem::size_of::<libc::cpu_set_t>(),
            &set,
        )
    };
}

/// The caller's side of the new thread's first moments: it tells its id, and waits until the
/// caller has placed it.
struct Handshake {
    #[cfg(target_os = "linux")]
    told: mpsc::Receiver<rustix::process::Pid>,
    #[cfg(target_os = "linux")]
    placed: mpsc::SyncSender<()>,
}

impl Handshake {
    /// `f` wrapped to tell its thread's id and wait to be placed before it runs.
    fn around<T>(f: impl FnOnce() -> T) -> (Self, impl FnOnce() -> T) {
        #[cfg(target_os = "linux")]
        {
            let (tell, told) = mpsc::sync_channel(1);
            let (placed, wait) = mpsc::sync_channel(1);
            let f = move || {
                let _ = tell.send(rustix::thread::gettid());
                // Not a step further on the caller's core: once it runs, the scheduler may
                // let it keep that core for a whole time slice (a millisecond and more) while
                // the caller waits behind it.
                let _ = wait.recv();
                f()
            };
            (Self { told, placed }, f)
        }
        #[cfg(not(target_os = "linux"))]
        (Self {}, f)
    }

    /// Waits up to [`HANDSHAKE`] for the thread's id; if it comes, allows the thread
    /// [`other_cores`] only. Then lets it go.
    fn place(self) {
        #[cfg(target_os = "linux")]
        {
            use rustix::thread::{CpuSet, sched_setaffinity};
            if let Ok(thread) = self.told.recv_timeout(HANDSHAKE)
                && let Some(others) = other_cores()
            {
                let mut elsewhere = CpuSet::new();
                others.into_iter().for_each(|cpu| elsewhere.set(cpu));
                let _ = sched_setaffinity(Some(thread), &elsewhere);
            }
            let _ = self.placed.send(());
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::{Duration, Instant};

    use rustix::thread::sched_getaffinity;

    /// The mask a helper ends up with (the caller sets it right after the helper starts,
    /// when it starts within the handshake), read from inside it.
    fn helpers_mask(allowed: &rustix::thread::CpuSet) -> rustix::thread::CpuSet {
        std::thread::scope(|s| {
            super::spawn(s, || {
                let start = Instant::now();
                loop {
                    let mine = sched_getaffinity(None).unwrap();
                    if mine != *allowed || start.elapsed() > Duration::from_millis(20) {
                        return mine;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .join()
            .unwrap()
        })
    }

    #[test]
    fn the_helper_may_run_on_every_allowed_core_but_one() {
        let allowed = sched_getaffinity(None).unwrap();
        // A helper that does not start within the handshake runs as spawned; on a busy
        // machine that can happen, but not twenty times in a row.
        let masks: Vec<_> = (0..20).map(|_| helpers_mask(&allowed)).collect();
        for mask in &masks {
            assert!(*mask == allowed || mask.count() == allowed.count() - 1);
            for cpu in 0..rustix::thread::CpuSet::MAX_CPU {
                assert!(
                    !mask.is_set(cpu) || allowed.is_set(cpu),
                    "only allowed cores"
                );
            }
        }
        if allowed.count() > 1 {
            assert!(masks.iter().any(|m| *m != allowed), "never moved");
        }
    }

    /// The mask a detached helper ends up with, read from inside it (it may start before its
    /// caller has placed it).
    fn detached_mask(allowed: rustix::thread::CpuSet) -> rustix::thread::CpuSet {
        let (tell, told) = std::sync::mpsc::channel();
        super::detach(move || {
            let start = Instant::now();
            let mine = loop {
                let mine = sched_getaffinity(None).unwrap();
                if mine != allowed || start.elapsed() > Duration::from_millis(20) {
                    break mine;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            tell.send(mine).unwrap();
        });
        told.recv().unwrap()
    }

    /// A detached helper is placed by its caller, who need not wait for it to start: so it is
    /// placed every time, not only when it starts soon enough.
    #[test]
    fn a_detached_helper_is_always_kept_off_its_callers_core() {
        let allowed = sched_getaffinity(None).unwrap();
        if allowed.count() < 2 {
            return; // (nowhere else to go)
        }
        for _ in 0..20 {
            let mask = detached_mask(allowed);
            assert_eq!(mask.count(), allowed.count() - 1, "not moved");
            for cpu in 0..rustix::thread::CpuSet::MAX_CPU {
                assert!(
                    !mask.is_set(cpu) || allowed.is_set(cpu),
                    "only allowed cores"
                );
            }
        }
    }

    #[test]
    fn the_helper_returns_what_it_made() {
        let words = ["beside", "the", "caller"];
        let joined = std::thread::scope(|s| super::spawn(s, || words.join(" ")).join().unwrap());
        assert_eq!(joined, "beside the caller");
    }
}
