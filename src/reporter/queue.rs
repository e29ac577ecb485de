//! The queue of one method: messages waiting in gRPC framing, the stream that takes them,
//! flushes waiting for them, and the counters, all under one lock (see the accounting in
//! the module above).

use crate::error::{Error, Result, Status};
use crate::framed;
use crate::logging::Throttle;
use bytes::BytesMut;
use http::uri::PathAndQuery;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// While a stream is open, its body looks for new messages this often by itself, so that a
/// report does not have to wake it (a futex call, often an inter-processor interrupt, paid
/// on the application's thread for every message). Kafka's producer waits the same by
/// default (`linger.ms`). A report wakes the body at once only when a batch's worth is
/// waiting ([`QueueLimits::wake_at`]); a flush and a close always do.
pub const BATCH_LINGER: Duration = Duration::from_millis(5);
/// Queued bytes that wake an open stream's body at once (or a quarter of the queue).
const WAKE_BYTES: usize = 256 * 1024;
/// The size of the queue's framing buffer (or one message, if larger); a new one is
/// allocated only while the bytes taken from the current one are still being written.
pub(super) const STAGING_CHUNK: usize = 64 * 1024;
/// Drops because the queue is full are logged at most this often per method.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

/// Queue bounds, per method (`swtls.report_queue_messages`, `swtls.report_queue_bytes`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub messages: usize,
    pub bytes: usize,
}

impl QueueLimits {
    /// Queued messages and bytes at which a report wakes an open stream's body at once
    /// instead of leaving it to find them within [`BATCH_LINGER`]: a quarter of the
    /// queue (at most [`WAKE_BYTES`]), far from dropping, and rare at any report rate the
    /// body keeps up with.
    pub(super) fn wake_at(&self) -> (usize, usize) {
        ((self.messages / 4).max(1), (self.bytes / 4).clamp(1, WAKE_BYTES))
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counters {
    pub(super) queued: u64,
    pub(super) sent: u64,
    pub(super) acknowledged: u64,
    pub(super) dropped_queue_full: u64,
    pub(super) dropped_closed: u64,
    pub(super) dropped_server_error: u64,
    pub(super) failed_streams: u64,
    pub(super) bytes_sent: u64,
}

/// A flush waiting for the messages `start..target` (in queue order) to be resolved.
pub(super) struct FlushWaiter {
    pub(super) start: u64,
    pub(super) target: u64,
    /// Some of them were dropped.
    pub(super) failed: AtomicBool,
}

pub(super) struct State {
    /// The payload length of each queued message, in order; `bytes` is their sum.
    pub(super) items: VecDeque<usize>,
    pub(super) bytes: usize,
    /// The queued messages in gRPC framing, one after the other (see `framed::put_frame`),
    /// in buffers of [`STAGING_CHUNK`] (or one message, if larger); a message never spans
    /// two. A stream's body takes its batch off the front one without a copy.
    pub(super) staging: VecDeque<BytesMut>,
    /// An emptied buffer, used again for the next one once the bytes taken from it have
    /// been written: in steady state two buffers take turns and a report allocates nothing.
    pub(super) spare: Option<BytesMut>,
    /// Messages ever accepted into the queue; the n-th accepted has sequence number n.
    pub(super) accepted: u64,
    /// Messages taken by the open stream and not resolved yet.
    pub(super) in_flight: u64,
    /// The id of the open stream, if any. A body with another id must not take messages.
    pub(super) stream: Option<u64>,
    pub(super) next_stream: u64,
    pub(super) stream_messages: u64,
    pub(super) stream_bytes: usize,
    /// The open stream's body, waiting for a message.
    pub(super) body_waker: Option<Waker>,
    pub(super) flushers: Vec<Arc<FlushWaiter>>,
    pub(super) closed: bool,
    pub(super) counters: Counters,
    pub(super) unlogged_drops: u64,
    pub(super) last_drop_log: Option<Instant>,
    /// How the last failed stream failed.
    pub(super) last_error: Option<Error>,
}

pub(super) enum Next {
    /// The next message: `len` framed bytes at the front of the first `staging` buffer.
    Message(usize),
    End,
    Wait,
}

impl State {
    /// Sequence number of the first message in the queue.
    pub(super) fn front(&self) -> u64 {
        self.accepted - self.items.len() as u64
    }
    /// Messages acknowledged or dropped so far, counted in queue order (streams of one
    /// method run one at a time, so they resolve in order).
    pub(super) fn resolved(&self) -> u64 {
        self.front() - self.in_flight
    }

    /// Makes room for `framed_len` more bytes at the end of the last staging buffer, or
    /// starts a new one: the spare when the bytes taken from it have all been written
    /// (`reserve` then reclaims it in place), else a new allocation.
    fn buffer_for(&mut self, framed_len: usize) {
        let size = framed_len.max(STAGING_CHUNK);
        match self.staging.back_mut() {
            Some(b) if b.capacity() - b.len() >= framed_len => return,
            Some(b) if b.is_empty() => return b.reserve(size),
            _ => {}
        }
        let buf = match self.spare.take() {
            Some(mut spare) => {
                spare.reserve(size);
                spare
            }
            None => BytesMut::with_capacity(size),
        };
        self.staging.push_back(buf);
    }

    /// The staging buffer the next message is in (emptied ones before it become the spare).
    pub(super) fn front_buffer(&mut self) -> &mut BytesMut {
        while self.staging.len() > 1 && self.staging.front().is_some_and(|b| b.is_empty()) {
            self.spare = self.staging.pop_front();
        }
        self.staging.front_mut().expect("a message is queued")
    }

    /// What the open stream's body does next.
    pub(super) fn next_for_stream(&mut self, limits: &QueueLimits) -> Next {
        let front = self.front();
        let resolved = front - self.in_flight;
        // A flush waits for messages already on this stream: finish it so they get answered.
        if self.in_flight > 0 && self.flushers.iter().any(|f| f.target <= front && f.target > resolved) {
            return Next::End;
        }
        // One stream carries at most one queue's worth: that much at most is at risk.
        if self.stream_messages >= limits.messages as u64 || self.stream_bytes >= limits.bytes {
            return Next::End;
        }
        match self.items.pop_front() {
            Some(len) => {
                self.bytes -= len;
                self.in_flight += 1;
                self.stream_messages += 1;
                self.stream_bytes += len;
                self.counters.sent += 1;
                self.counters.bytes_sent += len as u64;
                Next::Message(framed::PREFIX + len)
            }
            None => Next::Wait,
        }
    }
}

/// The queue and the background task of one method.
pub(super) struct MethodQueue {
    pub(super) method: String,
    pub(super) path: PathAndQuery,
    pub(super) limits: QueueLimits,
    pub(super) state: Mutex<State>,
    /// A message arrived while no stream was open, or the queue was closed.
    pub(super) work: Notify,
    /// Messages were resolved (for flushes).
    pub(super) progress: Notify,
    pub(super) task: Mutex<Option<JoinHandle<()>>>,
    pub(super) failure_log: Throttle,
}

impl MethodQueue {
    pub(super) fn new(method: &str, path: PathAndQuery, limits: QueueLimits) -> MethodQueue {
        MethodQueue {
            method: method.to_string(),
            path,
            limits,
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                staging: VecDeque::new(),
                spare: None,
                accepted: 0,
                in_flight: 0,
                stream: None,
                next_stream: 0,
                stream_messages: 0,
                stream_bytes: 0,
                body_waker: None,
                flushers: Vec::new(),
                closed: false,
                counters: Counters::default(),
                unlogged_drops: 0,
                last_drop_log: None,
                last_error: None,
            }),
            work: Notify::new(),
            progress: Notify::new(),
            task: Mutex::new(None),
            failure_log: Throttle::default(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Copies a message into the queue, or drops it when the queue is full. Never waits
    /// for anything but the queue's lock. In steady state (a stream open and keeping up)
    /// it makes no system call and no allocation: the open stream's body finds the
    /// message within [`BATCH_LINGER`] by itself.
    pub(super) fn push(&self, message: &[u8]) -> Result<()> {
        let len = message.len();
        if len > u32::MAX as usize {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("a gRPC message is at most 4 GiB; this one for {} has {len} bytes", self.method),
            ));
        }
        let (body, idle) = {
            let mut st = self.lock();
            if st.closed {
                return Err(Error::channel_closed());
            }
            st.counters.queued += 1;
            if st.items.len() >= self.limits.messages || st.bytes + len > self.limits.bytes {
                st.counters.dropped_queue_full += 1;
                st.unlogged_drops += 1;
                let now = Instant::now();
                let due = match st.last_drop_log {
                    None => true,
                    Some(at) => now.duration_since(at) >= DROP_LOG_EVERY,
                };
                let log = due.then(|| {
                    let n = std::mem::take(&mut st.unlogged_drops);
                    st.last_drop_log = Some(now);
                    (n, st.counters.dropped_queue_full)
                });
                let (queued, queued_bytes) = (st.items.len(), st.bytes);
                drop(st);
                if let Some((n, total)) = log {
                    warn!(
                        "{}: the report queue is full ({queued} messages, {queued_bytes} bytes): dropped {n} message(s) \
                         ({total} in all); the backend is unreachable or slower than the application",
                        self.method
                    );
                }
                return Err(self.full_error(len, queued, queued_bytes));
            }
            st.bytes += len;
            st.accepted += 1;
            st.items.push_back(len);
            let framed_len = framed::PREFIX + len;
            st.buffer_for(framed_len);
            let buf = st.staging.back_mut().expect("buffer_for leaves a buffer");
            framed::put_frame(buf, message);
            let (messages, bytes) = self.limits.wake_at();
            let wake = st.items.len() >= messages || st.bytes >= bytes;
            (if wake { st.body_waker.take() } else { None }, st.stream.is_none())
        };
        if let Some(w) = body {
            w.wake();
        }
        if idle {
            self.work.notify_one();
        }
        Ok(())
    }

    pub(super) fn full_error(&self, len: usize, queued: usize, queued_bytes: usize) -> Error {
        let limits = format!(
            "swtls.report_queue_messages={}, swtls.report_queue_bytes={}",
            self.limits.messages, self.limits.bytes
        );
        if len > self.limits.bytes {
            return Error::new(
                Status::ResourceExhausted,
                format!(
                    "a {len}-byte message is larger than the whole report queue of {} ({limits}): dropped",
                    self.method
                ),
            );
        }
        Error::new(
            Status::ResourceExhausted,
            format!(
                "the report queue of {} is full ({queued} messages, {queued_bytes} bytes; {limits}): the message was \
                 dropped (the backend is unreachable or slower than the application; see swtls_channel_stats)",
                self.method
            ),
        )
    }

    pub(super) fn open_stream(&self) -> u64 {
        let mut st = self.lock();
        let id = st.next_stream;
        st.next_stream += 1;
        st.stream = Some(id);
        st.stream_messages = 0;
        st.stream_bytes = 0;
        id
    }

    /// Settles the messages of stream `id` by how it ended; returns how many it carried,
    /// or `None` when the queue was closed meanwhile (they were counted then).
    pub(super) fn resolve(&self, id: u64, result: &Result<()>) -> Option<u64> {
        let n = {
            let mut st = self.lock();
            if st.stream != Some(id) {
                return None;
            }
            st.stream = None;
            st.body_waker = None;
            if st.items.is_empty() {
                // Between streams with nothing queued: an idle channel keeps no buffer.
                st.staging = VecDeque::new();
                st.spare = None;
            }
            let n = std::mem::take(&mut st.in_flight);
            let end = st.front();
            let start = end - n;
            match result {
                Ok(()) => st.counters.acknowledged += n,
                Err(e) => {
                    st.counters.failed_streams += 1;
                    st.last_error = Some(e.clone());
                    if n > 0 {
                        st.counters.dropped_server_error += n;
                        for f in &st.flushers {
                            if f.start < end && start < f.target {
                                f.failed.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            n
        };
        self.progress.notify_waiters();
        Some(n)
    }

    /// Registers a flush of everything pending now; `None` when nothing is pending.
    pub(super) fn begin_flush(&self) -> Option<Arc<FlushWaiter>> {
        let (waiter, body) = {
            let mut st = self.lock();
            let (start, target) = (st.resolved(), st.accepted);
            if st.closed || start == target {
                return None;
            }
            let w = Arc::new(FlushWaiter { start, target, failed: AtomicBool::new(false) });
            st.flushers.push(w.clone());
            (w, st.body_waker.take())
        };
        // The open stream re-checks whether it should finish now.
        if let Some(b) = body {
            b.wake();
        }
        Some(waiter)
    }

    pub(super) async fn wait_flush(&self, w: &FlushWaiter) {
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().resolved() >= w.target {
                return;
            }
            notified.await;
        }
    }

    /// Closes the queue: drops what is pending (counted as dropped because closed),
    /// cancels the open stream and stops the task.
    pub(super) fn shutdown(&self) {
        let (dropped, body) = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            let resolved = st.resolved();
            let dropped = st.items.len() as u64 + st.in_flight;
            st.items.clear();
            st.staging = VecDeque::new();
            st.spare = None;
            st.bytes = 0;
            st.in_flight = 0;
            st.stream = None;
            st.counters.dropped_closed += dropped;
            for f in &st.flushers {
                if f.target > resolved {
                    f.failed.store(true, Ordering::Relaxed);
                }
            }
            if dropped > 0 {
                st.last_error = Some(Error::new(Status::Closed, "the channel was closed before they were delivered"));
            }
            (dropped, st.body_waker.take())
        };
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        // The open stream's body sees that it was closed and resets the stream.
        if let Some(b) = body {
            b.wake();
        }
        self.progress.notify_waiters();
        self.work.notify_one();
        if dropped > 0 {
            warn!("{}: {dropped} message(s) still pending when the channel was closed were dropped", self.method);
        }
    }
}

/// A queue for `/a.B/c` with the given bounds (for the tests of the reporter).
#[cfg(test)]
pub(super) fn test_queue(messages: usize, bytes: usize) -> MethodQueue {
    MethodQueue::new("/a.B/c", crate::call::parse_method("/a.B/c").unwrap(), QueueLimits { messages, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(q: &MethodQueue) -> (u64, u64, u64, u64, u64) {
        let st = q.lock();
        let c = st.counters;
        let pending = st.items.len() as u64 + st.in_flight;
        assert_eq!(
            c.queued,
            c.acknowledged + c.dropped_queue_full + c.dropped_closed + c.dropped_server_error + pending,
            "invariant"
        );
        (c.queued, c.acknowledged, c.dropped_queue_full, c.dropped_server_error, pending)
    }

    #[test]
    fn queue_bounds_and_accounting_without_network() {
        let q = test_queue(3, 100);
        for _ in 0..3 {
            q.push(&[1; 10]).unwrap();
        }
        let e = q.push(&[1; 10]).unwrap_err();
        assert_eq!(e.status, Status::ResourceExhausted);
        assert!(e.message.contains("swtls.report_queue_messages=3"), "{}", e.message);
        assert_eq!(counts(&q), (4, 0, 1, 0, 3));
        // A stream takes two, then fails: those two are dropped, the third stays queued.
        let id = q.open_stream();
        for _ in 0..2 {
            assert!(matches!(q.lock().next_for_stream(&q.limits), Next::Message(_)));
        }
        assert_eq!(q.resolve(id, &Err(Error::new(Status::Unavailable, "gone"))), Some(2));
        assert_eq!(counts(&q), (4, 0, 1, 2, 1));
        // The next stream takes the third and succeeds.
        let id = q.open_stream();
        assert!(matches!(q.lock().next_for_stream(&q.limits), Next::Message(_)));
        assert!(matches!(q.lock().next_for_stream(&q.limits), Next::Wait));
        assert_eq!(q.resolve(id, &Ok(())), Some(1));
        assert_eq!(counts(&q), (4, 1, 1, 2, 0));
        // Bytes bound: 100 bytes, one message larger than the queue.
        let e = q.push(&[0; 101]).unwrap_err();
        assert!(e.message.contains("larger than the whole report queue"), "{}", e.message);
        q.push(&[0; 60]).unwrap();
        assert_eq!(q.push(&[0; 41]).unwrap_err().status, Status::ResourceExhausted);
        q.push(&[0; 40]).unwrap();
        q.shutdown();
        let st = q.lock();
        assert_eq!((st.counters.dropped_closed, st.items.len(), st.bytes), (2, 0, 0));
        drop(st);
        assert_eq!(q.push(&[0; 1]).unwrap_err().status, Status::Closed);
        assert_eq!(counts(&q).0, 8, "a report after close is not counted");
    }

    #[test]
    fn a_stream_carries_at_most_one_queue_worth_and_stops_for_a_waiting_flush() {
        let q = test_queue(4, 1 << 20);
        for _ in 0..4 {
            q.push(b"m").unwrap();
        }
        let id = q.open_stream();
        for _ in 0..4 {
            assert!(matches!(q.lock().next_for_stream(&q.limits), Next::Message(_)));
        }
        q.push(b"m").unwrap();
        assert!(matches!(q.lock().next_for_stream(&q.limits), Next::End), "cap of 4 messages per stream");
        q.resolve(id, &Ok(())).unwrap();
        // Flush of the fifth while a sixth arrives: the stream ends once the fifth is on it.
        let w = q.begin_flush().unwrap();
        assert_eq!((w.start, w.target), (4, 5));
        q.push(b"m").unwrap();
        let id = q.open_stream();
        assert!(matches!(q.lock().next_for_stream(&q.limits), Next::Message(_)));
        assert!(matches!(q.lock().next_for_stream(&q.limits), Next::End), "the flush waits for the fifth");
        q.resolve(id, &Err(Error::new(Status::Unauthenticated, "no"))).unwrap();
        assert!(w.failed.load(Ordering::Relaxed), "the flushed message was dropped");
        assert!(q.lock().resolved() >= w.target);
    }
}
