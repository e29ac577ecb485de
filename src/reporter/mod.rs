//! The reporter: fire-and-forget reporting for agents (DESIGN §5).
//!
//! [`Reporter::report`] copies a message into a bounded queue for its method and returns at
//! once; it never waits for the network. One background task per method keeps a client
//! stream open to the channel's current backend and feeds it from the queue. A stream is
//! finished (and so its messages acknowledged) when the queue has been empty for a moment
//! ([`LINGER`]), when it has carried one queue's worth of messages or bytes, after
//! [`ROLL_MAX`] (or half of `collector.grpc_upstream_timeout`), and when a flush waits for
//! it. After a failure the task waits (exponential backoff with jitter) and opens a new
//! stream, on the next backend when the failure calls for it.
//!
//! Accounting, per method and always under the queue's lock (so a snapshot is consistent):
//! every message handed to `report` counts in `queued` and is then, at any moment, exactly
//! one of: dropped at once because the queue was full; waiting in the queue; on the open
//! stream (sent, not answered yet); acknowledged (the stream it went on ended with OK);
//! dropped after a server error (the stream it went on failed); dropped because the channel
//! was closed. Hence `queued = acknowledged + dropped + pending` at every moment.
//!
//! At most once: a message written to a stream that then failed is never sent again (the
//! server may have processed it). Messages still in the queue when a stream fails, or when
//! no connection can be made, were never sent: they wait for the next stream.
//!
//! The queue of one method (its state and accounting) is in `queue`; the task that drains
//! it, and the body of the streams it opens, in `drain`.

mod drain;
mod queue;

pub use drain::{BACKOFF_FIRST, BACKOFF_MAX, LINGER, ROLL_MAX};
pub(crate) use queue::QueueLimits;
pub use queue::BATCH_LINGER;

use crate::call::parse_method;
use crate::error::{Error, Result, Status};
use crate::pool::BackendPool;
use crate::runtime::runtime;
use crate::stats::Stats;
use drain::drain;
use queue::MethodQueue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Methods one channel reports to at most (each has a queue and a task).
pub const MAX_METHODS: usize = 64;

/// The reporter of one channel in one process: a queue and a task per method.
pub(crate) struct Reporter {
    queues: RwLock<Vec<Arc<MethodQueue>>>,
    /// The bounds of each queue.
    limits: QueueLimits,
    closed: AtomicBool,
}

impl Reporter {
    pub(crate) fn new(limits: QueueLimits) -> Reporter {
        Reporter { queues: RwLock::new(Vec::new()), limits, closed: AtomicBool::new(false) }
    }

    /// Queues `message` for `method` (see [`MethodQueue::push`]); the first report to a
    /// method checks it and starts its task, which streams to the backends of `pool`.
    pub(crate) fn report(&self, method: &str, message: &[u8], pool: &Arc<BackendPool>) -> Result<()> {
        {
            let queues = self.queues.read().unwrap_or_else(|p| p.into_inner());
            if let Some(q) = queues.iter().find(|q| q.method == method) {
                return q.push(message);
            }
        }
        self.start(method, pool)?.push(message)
    }

    fn start(&self, method: &str, pool: &Arc<BackendPool>) -> Result<Arc<MethodQueue>> {
        let path = parse_method(method)?;
        let q = {
            let mut queues = self.queues.write().unwrap_or_else(|p| p.into_inner());
            if let Some(q) = queues.iter().find(|q| q.method == method) {
                return Ok(q.clone());
            }
            if self.closed.load(Ordering::Acquire) {
                return Err(Error::channel_closed());
            }
            if queues.len() >= MAX_METHODS {
                return Err(Error::new(
                    Status::InvalidParameter,
                    format!(
                        "{method}: a channel reports to at most {MAX_METHODS} methods (each has its own queue and task); \
                         this would be method {}",
                        queues.len() + 1
                    ),
                ));
            }
            let q = Arc::new(MethodQueue::new(method, path, self.limits));
            let task = runtime().spawn(drain(pool.clone(), q.clone()));
            *q.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
            queues.push(q.clone());
            q
        };
        info!(
            "reporter for {method} started: queue of {} messages / {} bytes, streaming to {}",
            q.limits.messages,
            q.limits.bytes,
            pool.current_backend()
        );
        Ok(q)
    }

    fn queues(&self) -> Vec<Arc<MethodQueue>> {
        self.queues.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until every message pending now has been acknowledged or dropped, or
    /// `timeout` ran out. Ok when all of them were acknowledged.
    pub(crate) async fn flush(&self, timeout: Duration) -> Result<()> {
        let waiters: Vec<_> = self.queues().into_iter().filter_map(|q| q.begin_flush().map(|w| (q, w))).collect();
        if waiters.is_empty() {
            return Ok(());
        }
        let all = async {
            for (q, w) in &waiters {
                q.wait_flush(w).await;
            }
        };
        let _ = tokio::time::timeout(timeout, all).await;
        let mut pending = 0;
        let mut details = Vec::new();
        let mut failed = None;
        for (q, w) in &waiters {
            let mut st = q.lock();
            st.flushers.retain(|f| !Arc::ptr_eq(f, w));
            let left = w.target.saturating_sub(st.resolved());
            if left > 0 {
                pending += left;
                let why = match &st.last_error {
                    Some(e) => format!("; last failure: {e}"),
                    None => String::new(),
                };
                details.push(format!("{}: {left} pending{why}", q.method));
            }
            if w.failed.load(Ordering::Relaxed) {
                failed = Some((q.method.clone(), st.last_error.clone().unwrap_or_else(Error::channel_closed)));
            }
        }
        if pending > 0 {
            return Err(Error::new(
                Status::DeadlineExceeded,
                format!(
                    "{pending} message(s) were not acknowledged within {timeout:?} ({}); they stay queued",
                    details.join("; ")
                ),
            ));
        }
        match failed {
            Some((method, e)) => Err(Error::new(
                e.status,
                format!(
                    "{method}: some of the messages were dropped, not acknowledged (at most once: never sent again): {}",
                    e.message
                ),
            )),
            None => Ok(()),
        }
    }

    /// Closes every queue (see [`MethodQueue::shutdown`]); no new queue starts afterwards.
    pub(crate) fn shutdown(&self) {
        let queues = {
            let queues = self.queues.write().unwrap_or_else(|p| p.into_inner());
            self.closed.store(true, Ordering::Release);
            queues.clone()
        };
        for q in queues {
            q.shutdown();
        }
    }

    /// Adds every queue's counters to `s` (each queue's snapshot is consistent).
    pub(crate) fn add_to(&self, s: &mut Stats) {
        for q in self.queues() {
            let st = q.lock();
            let c = &st.counters;
            s.queued += c.queued;
            s.sent += c.sent;
            s.acknowledged += c.acknowledged;
            s.dropped_queue_full += c.dropped_queue_full;
            s.dropped_closed += c.dropped_closed;
            s.dropped_server_error += c.dropped_server_error;
            s.failed_streams += c.failed_streams;
            s.bytes_sent += c.bytes_sent;
            s.pending += st.items.len() as u64 + st.in_flight;
            s.queued_bytes += st.bytes as u64;
        }
    }
}
