//! The library's own tokio runtime. Blocking API calls run their future on the caller's
//! thread (`block_on`), so a blocking call blocks only its caller; connections and streams
//! are driven by the runtime's worker threads.

use crate::error::{Error, Result, Status};
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("swtls-worker")
            .enable_all()
            .build()
            .expect("swtls: cannot start the tokio runtime")
    })
}

/// Runs a future to completion on the calling thread. Refuses to run inside an async
/// runtime, where blocking would stall that runtime's worker.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            Status::FailedPrecondition,
            "a blocking swtls call was made from inside an async runtime thread; call it from a plain thread \
             (e.g. tokio::task::spawn_blocking)",
        ));
    }
    Ok(runtime().block_on(fut))
}
