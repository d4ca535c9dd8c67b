//! Helper threads that start soon, on another core than their caller's, and work that the
//! caller does itself when its helper has not started.
//!
//! On the 2-core Linux VMs this project is measured on, a newly spawned thread often stays
//! queued on its parent's core until the parent blocks, rather than starting on the idle core
//! (a helper spawned to work beside its caller for a millisecond ran after it), and an idle
//! core sometimes takes up to a millisecond to start running anything. Measured: a helper
//! started 1 ms late while its caller worked 1 ms; allowed only on the other core, it started
//! within 0.1 ms. So [`spawn`] waits a moment ([`HANDSHAKE`]) for the new thread to tell its
//! id, and if it does, lets it run on every core the process may use but the caller's. That is
//! a scheduling hint only: where it cannot be given (one core, another system, a refused call,
//! a thread that has not started by then), the thread runs as spawned. A caller must therefore
//! never wait for a helper that has not started its work: [`Claim`] decides, once, who does a
//! piece of work, the helper (if it gets there first) or the caller.

use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

/// How long [`spawn`] waits for the new thread to start. A thread placed on the caller's core
/// starts within microseconds once the caller waits; one placed on a sleeping core may take a
/// millisecond, and is where it should be anyway.
const HANDSHAKE: Duration = Duration::from_micros(100);

/// Spawns `f` on a new thread of `scope`, kept off the caller's current core when it starts
/// soon enough to be moved (module doc), so that it runs beside the caller, not after it.
pub(crate) fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{CpuSet, gettid, sched_getaffinity, sched_getcpu, sched_setaffinity};
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        let (moved, wait) = std::sync::mpsc::sync_channel(1);
        let handle = scope.spawn(move || {
            let _ = tell.send(gettid());
            // Not a step further on the caller's core: once it runs, the scheduler may let it
            // keep that core for a whole time slice (a millisecond and more) while the caller
            // waits behind it.
            let _ = wait.recv();
            f()
        });
        if let Ok(thread) = told.recv_timeout(HANDSHAKE)
            && let Ok(allowed) = sched_getaffinity(None)
        {
            let here = sched_getcpu();
            let mut elsewhere = CpuSet::new();
            (0..CpuSet::MAX_CPU)
                .filter(|&cpu| cpu != here && allowed.is_set(cpu))
                .for_each(|cpu| elsewhere.set(cpu));
            if elsewhere.count() > 0 {
                let _ = sched_setaffinity(Some(thread), &elsewhere);
            }
        }
        let _ = moved.send(());
        handle
    }
    #[cfg(not(target_os = "linux"))]
    scope.spawn(f)
}

/// Who does a piece of work offered to a helper: the helper, if it claims it before the
/// caller needs it, or else the caller, which then never waits for the helper.
#[derive(Debug, Default)]
pub(crate) struct Claim(AtomicU8);

const OPEN: u8 = 0;
const TAKEN: u8 = 1;

impl Claim {
    /// Takes the work for whoever calls first: true once, false for every later call.
    pub(crate) fn take(&self) -> bool {
        self.0
            .compare_exchange(OPEN, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
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

    #[test]
    fn work_is_claimed_once() {
        let claim = super::Claim::default();
        let takers = std::thread::scope(|s| {
            let helpers: Vec<_> = (0..4).map(|_| super::spawn(s, || claim.take())).collect();
            let mine = claim.take();
            let theirs: Vec<bool> = helpers.into_iter().map(|h| h.join().unwrap()).collect();
            theirs.into_iter().filter(|&t| t).count() + usize::from(mine)
        });
        assert_eq!(takers, 1);
        assert!(!claim.take());
    }

    #[test]
    fn the_helper_returns_what_it_made() {
        let words = ["beside", "the", "caller"];
        let joined = std::thread::scope(|s| super::spawn(s, || words.join(" ")).join().unwrap());
        assert_eq!(joined, "beside the caller");
    }
}
