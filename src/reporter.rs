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

use crate::call::parse_method;
use crate::error::{Error, Result, Status};
use crate::framed;
use crate::logging::Throttle;
use crate::pool::BackendPool;
use crate::random::random_u64;
use crate::runtime::runtime;
use crate::stats::Stats;
use bytes::{Bytes, BytesMut};
use http::uri::PathAndQuery;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// A stream is finished once the queue has been empty this long.
pub const LINGER: Duration = Duration::from_millis(200);
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
const STAGING_CHUNK: usize = 64 * 1024;
/// A stream is finished (rolled over) after this long at most.
pub const ROLL_MAX: Duration = Duration::from_secs(10);
/// First wait after a failed stream; doubles with each failure in a row.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between attempts (or `collector.grpc_channel_check_interval` if shorter).
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Drops because the queue is full are logged at most this often per method.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);
/// Stream failures with the same status are logged as warnings at most this often.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(10);
/// Methods one channel reports to at most (each has a queue and a task).
pub const MAX_METHODS: usize = 64;

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
    fn wake_at(&self) -> (usize, usize) {
        ((self.messages / 4).max(1), (self.bytes / 4).clamp(1, WAKE_BYTES))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    queued: u64,
    sent: u64,
    acknowledged: u64,
    dropped_queue_full: u64,
    dropped_closed: u64,
    dropped_server_error: u64,
    failed_streams: u64,
    bytes_sent: u64,
}

/// A flush waiting for the messages `start..target` (in queue order) to be resolved.
struct FlushWaiter {
    start: u64,
    target: u64,
    /// Some of them were dropped.
    failed: AtomicBool,
}

struct State {
    /// The payload length of each queued message, in order; `bytes` is their sum.
    items: VecDeque<usize>,
    bytes: usize,
    /// The queued messages in gRPC framing, one after the other (see `framed::put_frame`).
    /// A stream's body takes its batch off the front without a copy; once those bytes are
    /// written, the buffer is reused, so a report in steady state allocates nothing.
    staging: BytesMut,
    /// Messages ever accepted into the queue; the n-th accepted has sequence number n.
    accepted: u64,
    /// Messages taken by the open stream and not resolved yet.
    in_flight: u64,
    /// The id of the open stream, if any. A body with another id must not take messages.
    stream: Option<u64>,
    next_stream: u64,
    stream_messages: u64,
    stream_bytes: usize,
    /// The open stream's body, waiting for a message.
    body_waker: Option<Waker>,
    flushers: Vec<Arc<FlushWaiter>>,
    closed: bool,
    counters: Counters,
    unlogged_drops: u64,
    last_drop_log: Option<Instant>,
    /// How the last failed stream failed.
    last_error: Option<Error>,
}

enum Next {
    /// The next message, `len` framed bytes at the front of `staging`.
    Message(usize),
    End,
    Wait,
}

impl State {
    /// Sequence number of the first message in the queue.
    fn front(&self) -> u64 {
        self.accepted - self.items.len() as u64
    }
    /// Messages acknowledged or dropped so far, counted in queue order (streams of one
    /// method run one at a time, so they resolve in order).
    fn resolved(&self) -> u64 {
        self.front() - self.in_flight
    }

    /// What the open stream's body does next.
    fn next_for_stream(&mut self, limits: &QueueLimits) -> Next {
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
struct MethodQueue {
    method: String,
    path: PathAndQuery,
    limits: QueueLimits,
    state: Mutex<State>,
    /// A message arrived while no stream was open, or the queue was closed.
    work: Notify,
    /// Messages were resolved (for flushes).
    progress: Notify,
    task: Mutex<Option<JoinHandle<()>>>,
    failure_log: Throttle,
}

impl MethodQueue {
    fn new(method: &str, path: PathAndQuery, limits: QueueLimits) -> MethodQueue {
        MethodQueue {
            method: method.to_string(),
            path,
            limits,
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                staging: BytesMut::new(),
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

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Copies a message into the queue, or drops it when the queue is full. Never waits
    /// for anything but the queue's lock. In steady state (a stream open and keeping up)
    /// it makes no system call and no allocation: the open stream's body finds the
    /// message within [`BATCH_LINGER`] by itself.
    fn push(&self, message: &[u8]) -> Result<()> {
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
            if st.staging.capacity() == 0 {
                st.staging = BytesMut::with_capacity(framed_len.max(STAGING_CHUNK));
            } else {
                // Moves what is queued to the front of the same buffer when the bytes taken
                // from it have been written; allocates a new one (of the first one's size:
                // `bytes` remembers it) only while they are not.
                st.staging.reserve(framed_len);
            }
            framed::put_frame(&mut st.staging, message);
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

    fn full_error(&self, len: usize, queued: usize, queued_bytes: usize) -> Error {
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

    fn open_stream(&self) -> u64 {
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
    fn resolve(&self, id: u64, result: &Result<()>) -> Option<u64> {
        let n = {
            let mut st = self.lock();
            if st.stream != Some(id) {
                return None;
            }
            st.stream = None;
            st.body_waker = None;
            if st.items.is_empty() {
                // Between streams with nothing queued: an idle channel keeps no buffer.
                st.staging = BytesMut::new();
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
    fn begin_flush(&self) -> Option<Arc<FlushWaiter>> {
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

    async fn wait_flush(&self, w: &FlushWaiter) {
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
    fn shutdown(&self) {
        let (dropped, body) = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            let resolved = st.resolved();
            let dropped = st.items.len() as u64 + st.in_flight;
            st.items.clear();
            st.staging = BytesMut::new();
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

/// The wait after `failures` failed streams in a row: exponential from [`BACKOFF_FIRST`],
/// capped at `cap`, with "equal jitter" (between half and all of it) so that many agents
/// do not reconnect in step.
pub(crate) fn backoff(failures: u32, cap: Duration) -> Duration {
    let exp = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let d = exp.min(cap);
    let half = d / 2;
    half + Duration::from_nanos(random_u64() % (half.as_nanos() as u64 + 1))
}

/// The task of one method: opens a stream whenever there is something to send, and
/// settles its messages by how it ended.
async fn drain(pool: Arc<BackendPool>, q: Arc<MethodQueue>) {
    let timeout = pool.settings.timeout;
    let roll = ROLL_MAX.min(timeout / 2);
    // Long enough for a stream that rolls over and then waits for its answer.
    let deadline = roll + timeout;
    let cap = BACKOFF_MAX.min(pool.settings.check_interval);
    let mut failures = 0u32;
    loop {
        loop {
            let notified = q.work.notified();
            {
                let st = q.lock();
                if st.closed {
                    return;
                }
                if !st.items.is_empty() {
                    break;
                }
            }
            notified.await;
        }
        let idx = pool.current_index();
        let id = q.open_stream();
        let body = QueueBody::new(q.clone(), id, roll);
        let result = pool.report_stream(idx, &q.path, &q.method, body, deadline).await;
        let Some(n) = q.resolve(id, &result) else { return };
        let backend = pool.backend(idx);
        match result {
            Ok(()) => {
                if failures > 0 {
                    info!("{}: reporting to {backend} works again ({n} message(s) acknowledged)", q.method);
                } else {
                    debug!("{}: stream to {backend} acknowledged {n} message(s)", q.method);
                }
                failures = 0;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let delay = backoff(failures, cap);
                let lost = if n > 0 {
                    format!("; the {n} message(s) sent on it are dropped (at most once: never sent again)")
                } else {
                    String::new()
                };
                if q.failure_log.allow(e.status.name(), FAILURE_LOG_EVERY) {
                    warn!("{}: the stream to {backend} failed: {e}{lost}; retrying in {delay:?}", q.method);
                } else {
                    debug!("{}: the stream to {backend} failed again: {e}{lost}; retrying in {delay:?}", q.method);
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Queued messages a reporter stream's body joins into one piece, at most (about).
const BATCH_BYTES: usize = 64 * 1024;

/// The request body of a reporter stream: takes messages from the queue while the stream
/// is the queue's open one, and ends when [`State::next_for_stream`] says so, when the
/// queue has been empty for [`LINGER`], or at the roll-over time.
struct QueueBody {
    queue: Arc<MethodQueue>,
    id: u64,
    roll_at: tokio::time::Instant,
    idle_since: tokio::time::Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl QueueBody {
    fn new(queue: Arc<MethodQueue>, id: u64, roll: Duration) -> QueueBody {
        let now = tokio::time::Instant::now();
        QueueBody {
            queue,
            id,
            roll_at: now + roll,
            idle_since: now,
            timer: Box::pin(tokio::time::sleep_until(now + LINGER)),
            done: false,
        }
    }
}

impl http_body::Body for QueueBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let now = tokio::time::Instant::now();
            {
                let mut st = this.queue.lock();
                if st.stream != Some(this.id) {
                    // The queue was closed: reset the stream (an error from the body does),
                    // never commit it.
                    this.done = true;
                    return Poll::Ready(Some(Err(tonic::Status::cancelled("the report queue was closed"))));
                }
                match st.next_for_stream(&this.queue.limits) {
                    Next::Message(first) => {
                        this.idle_since = now;
                        // Whatever else is queued goes out in the same piece (up to
                        // BATCH_BYTES, taken off the staging buffer without a copy): one
                        // HTTP/2 DATA frame per message costs both ends far more.
                        let mut len = first;
                        while len < BATCH_BYTES {
                            let Next::Message(more) = st.next_for_stream(&this.queue.limits) else { break };
                            len += more;
                        }
                        let data = st.staging.split_to(len).freeze();
                        return Poll::Ready(Some(Ok(http_body::Frame::data(data))));
                    }
                    Next::End => {
                        this.done = true;
                        return Poll::Ready(None);
                    }
                    Next::Wait => {
                        if now >= this.roll_at || now >= this.idle_since + LINGER {
                            this.done = true;
                            return Poll::Ready(None);
                        }
                        st.body_waker = Some(cx.waker().clone());
                    }
                }
            }
            // Looks again within BATCH_LINGER: a report does not wake the body (see `push`).
            let wake_at = this.roll_at.min(this.idle_since + LINGER).min(now + BATCH_LINGER);
            if this.timer.deadline() != wake_at {
                this.timer.as_mut().reset(wake_at);
            }
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let cap = Duration::from_secs(5);
        for failures in 1..=30u32 {
            let full = BACKOFF_FIRST.saturating_mul(1 << (failures - 1).min(20)).min(cap);
            for _ in 0..50 {
                let d = backoff(failures, cap);
                assert!(d >= full / 2 && d <= full, "{failures}: {d:?} not in [{:?}, {full:?}]", full / 2);
            }
        }
        // Jitter: not always the same value.
        let samples: std::collections::HashSet<_> = (0..50).map(|_| backoff(4, cap)).collect();
        assert!(samples.len() > 5, "{samples:?}");
        assert!(backoff(40, Duration::from_secs(1)) <= Duration::from_secs(1));
    }

    fn queue(messages: usize, bytes: usize) -> MethodQueue {
        MethodQueue::new("/a.B/c", parse_method("/a.B/c").unwrap(), QueueLimits { messages, bytes })
    }

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
        let q = queue(3, 100);
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
        let q = queue(4, 1 << 20);
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

    #[tokio::test]
    async fn the_body_sends_what_is_queued_in_one_framed_piece() {
        use http_body::Body;
        let q = Arc::new(queue(100, 1 << 20));
        for n in [3usize, 0, 20_000, 7] {
            q.push(&vec![n as u8; n]).unwrap();
        }
        let id = q.open_stream();
        let mut body = QueueBody::new(q.clone(), id, Duration::from_secs(60));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else { panic!("expected data") };
        let data = frame.into_data().unwrap();
        let mut expected = Vec::new();
        for n in [3usize, 0, 20_000, 7] {
            expected.push(0u8);
            expected.extend_from_slice(&(n as u32).to_be_bytes());
            expected.extend(std::iter::repeat_n(n as u8, n));
        }
        assert_eq!(data.len(), expected.len());
        assert!(data[..] == expected[..], "the messages, framed, in order");
        let st = q.lock();
        assert_eq!((st.counters.sent, st.counters.bytes_sent, st.in_flight, st.bytes), (4, 20_010, 4, 0));
    }

    #[tokio::test]
    async fn one_piece_stops_near_the_batch_size() {
        use http_body::Body;
        let q = Arc::new(queue(100, 1 << 22));
        for _ in 0..40 {
            q.push(&[1u8; 4096]).unwrap();
        }
        let id = q.open_stream();
        let mut body = QueueBody::new(q.clone(), id, Duration::from_secs(60));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut pieces = Vec::new();
        while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
            pieces.push(frame.into_data().unwrap().len());
            if pieces.iter().sum::<usize>() == 40 * 4101 {
                break;
            }
        }
        // 16 framed messages reach 64 KiB: pieces of 16, 16 and 8.
        assert_eq!(pieces, vec![16 * 4101, 16 * 4101, 8 * 4101]);
    }

    /// A waker that counts its wakes.
    struct Counting(std::sync::atomic::AtomicUsize);
    impl std::task::Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_report_does_not_wake_a_waiting_body_the_body_finds_it_a_batch_wakes_it() {
        use http_body::Body;
        let q = Arc::new(queue(100, 1 << 20));
        let (wake_messages, _) = q.limits.wake_at();
        assert_eq!(wake_messages, 25);
        let id = q.open_stream();
        let mut body = QueueBody::new(q.clone(), id, Duration::from_secs(60));
        let counting = Arc::new(Counting(Default::default()));
        let waker = Waker::from(counting.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending(), "nothing queued yet");
        assert!(q.lock().body_waker.is_some(), "the body waits for the queue");
        // Fewer than a batch's worth: queued, and the body is not woken by the report...
        for _ in 0..wake_messages - 1 {
            q.push(b"small").unwrap();
        }
        assert_eq!(counting.0.load(Ordering::SeqCst), 0, "a report woke the waiting body");
        // ...but by its own timer, within BATCH_LINGER, and then it sends them all.
        let started = Instant::now();
        while counting.0.load(Ordering::SeqCst) == 0 {
            assert!(started.elapsed() < Duration::from_secs(5), "the body never looked again");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else { panic!("expected data") };
        assert_eq!(frame.into_data().unwrap().len(), (wake_messages - 1) * (framed::PREFIX + 5));
        // A batch's worth wakes it at once: the report that reaches it.
        assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending());
        let before = counting.0.load(Ordering::SeqCst);
        for _ in 0..wake_messages - 1 {
            q.push(b"small").unwrap();
        }
        assert_eq!(counting.0.load(Ordering::SeqCst), before);
        q.push(b"small").unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), before + 1, "a batch's worth did not wake the body");
        let Poll::Ready(Some(Ok(_))) = Pin::new(&mut body).poll_frame(&mut cx) else { panic!("expected data") };
        // A flush wakes it at once too, whatever is queued.
        assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending());
        q.push(b"one").unwrap();
        let before = counting.0.load(Ordering::SeqCst);
        let _w = q.begin_flush().unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), before + 1, "a flush did not wake the body");
    }

    #[tokio::test]
    async fn the_staging_buffer_is_reused_once_what_was_taken_is_written() {
        use http_body::Body;
        let q = Arc::new(queue(1000, 1 << 22));
        let id = q.open_stream();
        let mut body = QueueBody::new(q.clone(), id, Duration::from_secs(60));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let message = [7u8; 1019]; // 1 KiB framed
        let mut first = None;
        for round in 0..20 {
            for _ in 0..40 {
                q.push(&message).unwrap();
            }
            let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else { panic!("expected data") };
            let data = frame.into_data().unwrap();
            assert_eq!(data.len(), 40 * 1024);
            assert!(data.chunks(1024).all(|m| m[0] == 0 && m[1..5] == 1019u32.to_be_bytes() && m[5..] == message));
            let at = data.as_ptr() as usize;
            // The bytes are written (dropped): the next messages go into the same memory.
            drop(data);
            match first {
                None => first = Some(at),
                Some(f) => assert!(
                    at >= f && at < f + 2 * STAGING_CHUNK,
                    "round {round}: a new buffer ({at:#x}) instead of the first one ({f:#x})"
                ),
            }
        }
        // Nothing queued once the stream is resolved: the buffer is given back.
        q.resolve(id, &Ok(())).unwrap();
        assert_eq!(q.lock().staging.capacity(), 0);
    }
}
