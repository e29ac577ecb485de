//! The library's own tokio runtime. Blocking API calls run their future on the caller's
//! thread (`block_on`), so a blocking call blocks only its caller; connections and streams
//! are driven by the runtime's worker threads.
//!
//! Fork safety: a process made by `fork()` gets a copy of the parent's memory but only the
//! thread that called `fork()`; the parent's worker threads do not exist in it. A
//! `pthread_atfork` child handler bumps a generation counter, and every piece of
//! per-process state (this runtime, each channel's connections and reporter queues) is
//! tagged with the generation it was built in and rebuilt lazily when that no longer
//! matches. The parent's state is leaked in the child, never used nor dropped there (its
//! locks may be held by threads that no longer exist, its tasks belong to a dead runtime).
//! State shared by every generation is either lock-free, seeded into the child's own
//! copy without waiting (a channel's TLS material, `tls::ClientTls::for_process`), or
//! held only for a few instructions and taken by the prepare handler around `fork()`
//! (the logging locks), so nothing a library thread holds at fork time blocks the child.

use crate::error::{Error, Result, Status};
use std::future::Future;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use tokio::runtime::{Builder, Runtime};

/// Bumped in the child after every `fork()`.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The runtime of the current process (a leaked box, replaced after a fork).
static CURRENT: AtomicPtr<ProcessRuntime> = AtomicPtr::new(std::ptr::null_mut());

struct ProcessRuntime {
    generation: u64,
    runtime: Runtime,
}

#[cfg(unix)]
extern "C" fn before_fork() {
    crate::logging::before_fork();
}

#[cfg(unix)]
extern "C" fn after_fork_in_parent() {
    crate::logging::after_fork_in_parent();
}

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    // An atomic increment, and the logging locks taken before the fork released: no
    // allocation, no lock that another thread could hold.
    GENERATION.fetch_add(1, Ordering::SeqCst);
    crate::logging::after_fork_in_child();
}

#[cfg(unix)]
fn register_fork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // glibc ties the handler to this shared object and drops it on dlclose.
        let rc =
            unsafe { libc::pthread_atfork(Some(before_fork), Some(after_fork_in_parent), Some(after_fork_in_child)) };
        if rc != 0 {
            warn!("pthread_atfork failed ({rc}): a channel used after fork() in a child process will not work");
        }
    });
}

/// Targets without `fork()` have no child process to prepare for.
#[cfg(not(unix))]
fn register_fork_handler() {}

/// Which process generation this is: 0 in the process that loaded swtls, bumped in a
/// child after each `fork()`. State built for another generation must not be used.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

pub fn runtime() -> &'static Runtime {
    loop {
        let generation = generation();
        let current = CURRENT.load(Ordering::Acquire);
        // SAFETY: a runtime box is never freed once published (see below).
        if let Some(rt) = unsafe { current.as_ref() } {
            if rt.generation == generation {
                return &rt.runtime;
            }
        }
        register_fork_handler();
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("swtls-worker")
            .enable_all()
            .build()
            .expect("swtls: cannot start the tokio runtime");
        let fresh = Box::into_raw(Box::new(ProcessRuntime { generation, runtime }));
        match CURRENT.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The parent's runtime (in a child) is leaked on purpose: its threads are gone.
            Ok(_) => {
                if !current.is_null() {
                    debug!(
                        "fork detected (generation {generation}): started a new runtime in process {}",
                        std::process::id()
                    );
                }
                return unsafe { &(*fresh).runtime };
            }
            Err(_) => {
                // Another thread installed one first; use that.
                let ours = unsafe { Box::from_raw(fresh) };
                ours.runtime.shutdown_background();
            }
        }
    }
}

/// Runs a future to completion on the calling thread. Refuses to run inside an async
/// runtime, where blocking would stall that runtime's worker.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    blocking_allowed()?;
    Ok(runtime().block_on(fut))
}

/// Refuses a blocking call inside an async runtime, where blocking would stall that
/// runtime's worker: also for a call that would not have to wait this time, so that such a
/// use fails at once rather than now and then.
pub(crate) fn blocking_allowed() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            Status::FailedPrecondition,
            "a blocking swtls call was made from inside an async runtime thread; call it from a plain thread \
             (e.g. tokio::task::spawn_blocking)",
        ));
    }
    Ok(())
}
