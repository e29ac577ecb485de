//! The task of one method: opens a stream whenever the queue has something to send, feeds
//! it from the queue ([`QueueBody`]), settles the messages by how it ended, and waits
//! (backoff) after a failure.

use super::queue::{MethodQueue, Next, BATCH_LINGER};
use crate::pool::BackendPool;
use crate::random::random_u64;
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// A stream is finished once the queue has been empty this long.
pub const LINGER: Duration = Duration::from_millis(200);
/// A stream is finished (rolled over) after this long at most.
pub const ROLL_MAX: Duration = Duration::from_secs(10);
/// First wait after a failed stream; doubles with each failure in a row.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between attempts (or `collector.grpc_channel_check_interval` if shorter).
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Stream failures with the same status are logged as warnings at most this often.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(10);

/// The wait after `failures` failed streams in a row: exponential from [`BACKOFF_FIRST`],
/// capped at `cap`, with "equal jitter" (between half and all of it) so that many agents
/// do not reconnect in step.
pub(super) fn backoff(failures: u32, cap: Duration) -> Duration {
    let exp = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let d = exp.min(cap);
    let half = d / 2;
    half + Duration::from_nanos(random_u64() % (half.as_nanos() as u64 + 1))
}

/// The task of one method: opens a stream whenever there is something to send, and
/// settles its messages by how it ended.
pub(super) async fn drain(pool: Arc<BackendPool>, q: Arc<MethodQueue>) {
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
                        let in_buffer = st.front_buffer().len();
                        let mut len = first;
                        while len < BATCH_BYTES && len < in_buffer {
                            let Next::Message(more) = st.next_for_stream(&this.queue.limits) else { break };
                            len += more;
                        }
                        let data = st.front_buffer().split_to(len).freeze();
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
    use super::super::queue::test_queue;
    use super::*;
    use crate::framed;
    use std::sync::atomic::Ordering;
    use std::task::Waker;
    use std::time::Instant;

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

    #[tokio::test]
    async fn the_body_sends_what_is_queued_in_one_framed_piece() {
        use http_body::Body;
        let q = Arc::new(test_queue(100, 1 << 20));
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
        let q = Arc::new(test_queue(100, 1 << 22));
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
        // A piece ends at 64 KiB or at the end of a staging buffer (a message never spans
        // two): 15 framed messages fill a 64 KiB buffer, so pieces of 15, 15 and 10.
        assert_eq!(pieces, vec![15 * 4101, 15 * 4101, 10 * 4101]);
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
        let q = Arc::new(test_queue(100, 1 << 20));
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

    /// Counts the allocations made by the current thread (this test binary only).
    struct CountingAlloc;
    thread_local! {
        static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
            unsafe { std::alloc::System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
            unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
        }
    }
    #[global_allocator]
    static COUNTING: CountingAlloc = CountingAlloc;

    #[tokio::test]
    async fn in_steady_state_reports_and_the_body_allocate_nothing() {
        use http_body::Body;
        // (A stream carries one queue's worth at most: a large queue keeps it open.)
        let q = Arc::new(test_queue(1 << 20, 1 << 30));
        let id = q.open_stream();
        let mut body = QueueBody::new(q.clone(), id, Duration::from_secs(60));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let message = [7u8; 1019]; // 1 KiB framed
        let mut round = |n: usize| {
            for _ in 0..n {
                q.push(&message).unwrap();
            }
            let mut got = 0;
            while got < n * 1024 {
                let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else {
                    panic!("expected data")
                };
                let data = frame.into_data().unwrap();
                assert!(data.chunks(1024).all(|m| m[0] == 0 && m[1..5] == 1019u32.to_be_bytes() && m[5..] == message));
                got += data.len();
                // Written: the bytes are dropped, as the connection does once rustls has them.
            }
            assert_eq!(got, n * 1024);
        };
        for n in [40, 40, 40, 40] {
            round(n); // warm: the buffers, the deque, the shared-buffer headers
        }
        let before = ALLOCATIONS.with(|n| n.get());
        for n in (0..50).map(|i| 7 + i * 13 % 50) {
            round(n);
        }
        let allocations = ALLOCATIONS.with(|n| n.get()) - before;
        assert_eq!(allocations, 0, "reports and batches allocated {allocations} times in steady state");
        // Nothing queued once the stream is resolved: the buffers are given back.
        q.resolve(id, &Ok(())).unwrap();
        let st = q.lock();
        assert!(st.staging.is_empty() && st.spare.is_none());
    }
}
