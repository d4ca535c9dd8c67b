//! Helper threads that start at once, on another core than their caller's.
//!
//! On the 2-core Linux machines this project is measured on, a newly spawned thread stays
//! queued on its parent's core until the parent blocks, rather than starting on the idle
//! core: a helper spawned to work beside the caller for a millisecond ran after it instead,
//! and the two-core validation of a large output was no faster than one core. Measured: a
//! helper started 1 ms late while its caller worked 1 ms; allowed only on the other core, it
//! started within 0.1 ms. So [`spawn`] has the new thread tell its id, and the caller then
//! lets it run on every core it may use but its own. This is a scheduling hint only: where it
//! cannot be given (one core, another system, a refused call), the thread runs as spawned.

use std::thread::{Scope, ScopedJoinHandle};

/// Spawns `f` on a new thread of `scope` that may not run on the caller's current core (when
/// the process may use another), so that it runs beside the caller rather than after it.
pub(crate) fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{CpuSet, gettid, sched_getaffinity, sched_getcpu, sched_setaffinity};
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        let handle = scope.spawn(move || {
            let _ = tell.send(gettid());
            // Lets the caller, waiting for the id on this core, move this thread at once.
            std::thread::yield_now();
            f()
        });
        if let Ok(thread) = told.recv()
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
        handle
    }
    #[cfg(not(target_os = "linux"))]
    scope.spawn(f)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::{Duration, Instant};

    use rustix::thread::sched_getaffinity;

    #[test]
    fn the_helper_may_run_on_every_allowed_core_but_one() {
        let allowed = sched_getaffinity(None).unwrap();
        let mask = std::thread::scope(|s| {
            super::spawn(s, || {
                // The caller sets the mask right after this thread starts; wait for it.
                let start = Instant::now();
                loop {
                    let mine = sched_getaffinity(None).unwrap();
                    if mine != allowed || start.elapsed() > Duration::from_secs(5) {
                        return mine;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .join()
            .unwrap()
        });
        if allowed.count() > 1 {
            assert_eq!(mask.count(), allowed.count() - 1, "one core left out");
            for cpu in 0..rustix::thread::CpuSet::MAX_CPU {
                assert!(
                    !mask.is_set(cpu) || allowed.is_set(cpu),
                    "only allowed cores"
                );
            }
        } else {
            assert_eq!(mask, allowed, "with one core, nothing to leave out");
        }
    }

    #[test]
    fn the_helper_returns_what_it_made() {
        let words = ["beside", "the", "caller"];
        let joined = std::thread::scope(|s| super::spawn(s, || words.join(" ")).join().unwrap());
        assert_eq!(joined, "beside the caller");
    }
}
