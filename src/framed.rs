//! Client streams with messages framed once: the caller's bytes are copied straight into
//! gRPC framing (5-byte prefix + message) in a buffer that the HTTP/2 transport sends as
//! it is, and the call is made on the channel without tonic's encoder.
//!
//! Why not `tonic::client::Grpc::client_streaming`: its encoder copies every message
//! again into a buffer of its own, growing it (more copies, fresh pages) as it fills, and
//! a bounded `tokio::sync::mpsc` in front of it wakes a waiting caller once per message.
//! Measured with `perf` on a 2-vCPU VM (bench/compare, 8 KiB messages), that copy and the
//! page faults it caused were about a fifth of the streaming thread's CPU and the
//! per-message wake-ups about one context switch per message. Here the caller copies into
//! the queue's buffer, the transport takes everything queued in one piece (one wake-up
//! for the caller per piece, not per message), and rustls reads it from there.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{BufMut, Bytes, BytesMut};
use http::uri::PathAndQuery;
use http::{HeaderValue, Method, Uri, Version};
use http_body::Frame;
use tonic::metadata::MetadataMap;
use tower::{Service, ServiceExt};

use crate::codec::RawCodec;

/// Size of the gRPC message prefix: a compression flag and a big-endian u32 length.
pub(crate) const PREFIX: usize = 5;

/// Appends `message` to `buf` in gRPC framing (uncompressed). `message` must be at most
/// `u32::MAX` bytes (callers check).
pub(crate) fn put_frame(buf: &mut BytesMut, message: &[u8]) {
    debug_assert!(message.len() <= u32::MAX as usize);
    buf.reserve(PREFIX + message.len());
    buf.put_u8(0);
    buf.put_u32(message.len() as u32);
    buf.extend_from_slice(message);
}

/// `message` in gRPC framing, in a buffer of its own.
#[cfg(test)]
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(PREFIX + message.len());
    put_frame(&mut buf, message);
    buf.freeze()
}

/// What the body does after the messages already queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// More messages may come.
    Open,
    /// `finish`: end the request cleanly.
    Finished,
    /// The stream was dropped unfinished: reset it, so the server never takes the
    /// messages as a complete request.
    Cancelled,
}

struct State {
    /// Framed messages not yet taken by the transport.
    buf: BytesMut,
    /// How many messages `buf` holds.
    queued: usize,
    end: End,
    /// The request body was dropped: the call is over (answered, failed or timed out).
    body_gone: bool,
    /// The body's task, waiting for messages.
    body_waker: Option<Waker>,
    /// A body was polled: the transport sent the request (a retry would repeat it).
    polled: bool,
}

/// The bounded queue between a stream's caller and its request body.
pub(crate) struct SendQueue {
    state: Mutex<State>,
    /// Signalled when the body took the queued messages (room again) or went away.
    room: tokio::sync::Notify,
    limit: usize,
}

/// The call is over; the message was not queued.
#[derive(Debug)]
pub(crate) struct CallOver;

impl SendQueue {
    /// A queue holding at most `limit` messages (at least one).
    pub(crate) fn new(limit: usize) -> Arc<SendQueue> {
        Arc::new(SendQueue {
            state: Mutex::new(State {
                buf: BytesMut::with_capacity(64 * 1024),
                queued: 0,
                end: End::Open,
                body_gone: false,
                body_waker: None,
                polled: false,
            }),
            room: tokio::sync::Notify::new(),
            limit: limit.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Copies `message` into the queue, framed; waits while the queue is full.
    /// `message` must be at most `u32::MAX` bytes (the caller checks).
    pub(crate) async fn push(&self, message: &[u8]) -> Result<(), CallOver> {
        loop {
            // Registered before the check, so that room made in between is not missed.
            let room = self.room.notified();
            if self.try_push(message)? {
                return Ok(());
            }
            room.await;
        }
    }

    /// [`SendQueue::push`] without waiting: `Ok(false)` when the queue is full. Blocking
    /// callers use it first, so that the common case needs no async machinery at all.
    pub(crate) fn try_push(&self, message: &[u8]) -> Result<bool, CallOver> {
        let mut st = self.lock();
        if st.body_gone {
            return Err(CallOver);
        }
        if st.queued >= self.limit {
            return Ok(false);
        }
        put_frame(&mut st.buf, message);
        st.queued += 1;
        let waker = st.body_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(true)
    }

    /// True once a body on this queue was polled by the transport.
    pub(crate) fn was_polled(&self) -> bool {
        self.lock().polled
    }

    /// The call is over: senders stop (and a waiting one wakes).
    pub(crate) fn abandon(&self) {
        self.lock().body_gone = true;
        self.room.notify_one();
    }

    /// True when [`SendQueue::try_push`] would take a message now.
    pub(crate) fn has_room(&self) -> bool {
        let st = self.lock();
        !st.body_gone && st.end == End::Open && st.queued < self.limit
    }

    /// Waits until [`SendQueue::has_room`] holds (`true`), or until the request can take no
    /// more messages (finished, cancelled, or the call is over: `false`).
    pub(crate) async fn wait_room(&self) -> bool {
        let mut woken = false;
        loop {
            // Registered before the check, as in `push`.
            let room = self.room.notified();
            {
                let st = self.lock();
                if st.body_gone || st.end != End::Open {
                    return false;
                }
                if st.queued < self.limit {
                    drop(st);
                    if woken {
                        // `room` is signalled with `notify_one`: a sender waiting in `push`
                        // may have needed the signal this waiter took. Pass it on (at worst a
                        // sender checks once more).
                        self.room.notify_one();
                    }
                    return true;
                }
            }
            room.await;
            woken = true;
        }
    }

    /// Ends the request: cleanly (`finish`) or with a reset (the stream was dropped).
    pub(crate) fn close(&self, finished: bool) {
        let waker = {
            let mut st = self.lock();
            if st.end == End::Open {
                st.end = if finished { End::Finished } else { End::Cancelled };
            }
            st.body_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The request body of a client stream: what the queue holds, in as few pieces as it
/// comes, then a clean end or a reset.
pub(crate) struct FramedBody {
    queue: Arc<SendQueue>,
    done: bool,
    /// The last poll found little data and yielded to let more come.
    yielded: bool,
}

/// See [`FramedBody`]'s `poll_frame`: smaller pieces wait one scheduler round for more.
const GATHER_BELOW: usize = 16 * 1024;

impl FramedBody {
    /// A body on `queue`. Dropped without being polled (connecting failed), it leaves the
    /// queue open for another attempt: the owner of the call calls
    /// [`SendQueue::abandon`] when the call is over.
    pub(crate) fn new(queue: Arc<SendQueue>) -> FramedBody {
        FramedBody { queue, done: false, yielded: false }
    }
}

impl http_body::Body for FramedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let mut st = this.queue.lock();
        st.polled = true;
        if !st.buf.is_empty() {
            // Less than a TLS record's worth and the caller still sending: let it add more
            // first, once (a trip through the scheduler, a few microseconds). The transport
            // otherwise takes every message as it comes, one system call each: with a caller
            // a little slower than the transport (a cgo or JNI call per message) that was
            // 2.6 times as many sendmsg calls, and a third more CPU, for the same stream.
            if st.buf.len() < GATHER_BELOW && st.end == End::Open && st.queued < this.queue.limit && !this.yielded {
                this.yielded = true;
                drop(st);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            this.yielded = false;
            let data = st.buf.split().freeze();
            st.queued = 0;
            drop(st);
            this.queue.room.notify_one();
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        match st.end {
            End::Open => {
                if !st.body_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.body_waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            End::Finished => {
                this.done = true;
                Poll::Ready(None)
            }
            End::Cancelled => {
                this.done = true;
                // An error from the body makes the transport reset the HTTP/2 stream.
                Poll::Ready(Some(Err(tonic::Status::cancelled("the client abandoned the stream"))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for FramedBody {
    fn drop(&mut self) {
        {
            let mut st = self.queue.lock();
            if !st.polled {
                return;
            }
            st.body_gone = true;
        }
        self.queue.room.notify_one();
    }
}

/// Makes a client-streaming call on `channel` whose request carries `metadata` (the
/// deadline and token, as for every call) and whose body is `body` (messages in gRPC
/// framing; an error from it resets the stream), and returns the one response message, as
/// `Grpc::client_streaming` would: a trailers-only error, an error in the trailers, a
/// missing message and transport failures all come back as a `tonic::Status`.
pub(crate) async fn client_streaming<B>(
    mut channel: tonic::transport::Channel,
    path: PathAndQuery,
    metadata: MetadataMap,
    body: B,
    max_response: usize,
) -> Result<Bytes, tonic::Status>
where
    B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
{
    let uri = Uri::from(path);
    let mut request = http::Request::new(tonic::body::Body::new(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_2;
    *request.headers_mut() = metadata.into_headers();
    let headers = request.headers_mut();
    headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let transport = |e: tonic::transport::Error| tonic::Status::from_error(Box::new(e));
    let channel = channel.ready().await.map_err(transport)?;
    let response = channel.call(request).await.map_err(transport)?;
    let (parts, body) = response.into_parts();
    if let Some(status) = tonic::Status::from_header_map(&parts.headers) {
        // Trailers-only: an error, or OK without the message a client stream must get.
        if status.code() != tonic::Code::Ok {
            return Err(status);
        }
        return Err(tonic::Status::internal("Missing response message."));
    }
    let mut messages = tonic::codec::Streaming::new_response(RawCodec, body, parts.status, None, Some(max_response));
    let message = messages.message().await?.ok_or_else(|| tonic::Status::internal("Missing response message."))?;
    messages.trailers().await?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body;
    use std::task::Poll;
    use std::time::Duration;

    /// One poll of the body, as the transport makes them: a body that yields to gather
    /// more data is polled again (it woke itself).
    fn poll(body: &mut FramedBody) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut *body).poll_frame(&mut cx) {
            Poll::Pending if body.yielded => Pin::new(body).poll_frame(&mut cx),
            r => r,
        }
    }

    #[tokio::test]
    async fn messages_are_framed_and_taken_in_one_piece() {
        let q = SendQueue::new(4);
        let mut body = FramedBody::new(q.clone());
        assert!(poll(&mut body).is_pending());
        q.push(b"ab").await.unwrap();
        q.push(b"").await.unwrap();
        q.push(&[7u8; 300]).await.unwrap();
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body) else { panic!("expected data") };
        let data = frame.into_data().unwrap();
        let mut expected = vec![0, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0, 0, 0, 0, 0, 1, 44];
        expected.extend_from_slice(&[7u8; 300]);
        assert_eq!(&data[..], &expected[..]);
        q.close(true);
        assert!(matches!(poll(&mut body), Poll::Ready(None)));
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn a_small_piece_waits_one_round_for_more_and_a_big_one_does_not() {
        let q = SendQueue::new(64);
        let mut body = FramedBody::new(q.clone());
        let mut cx = Context::from_waker(Waker::noop());
        q.push(b"small").await.unwrap();
        assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending(), "first poll gathers");
        q.push(b"more").await.unwrap();
        let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else { panic!("second poll sends") };
        assert_eq!(frame.into_data().unwrap().len(), 2 * PREFIX + 9);
        q.push(&[0u8; GATHER_BELOW]).await.unwrap();
        assert!(
            matches!(Pin::new(&mut body).poll_frame(&mut cx), Poll::Ready(Some(Ok(_)))),
            "a record's worth goes at once"
        );
        // After finish nothing waits.
        q.push(b"last").await.unwrap();
        q.close(true);
        assert!(matches!(Pin::new(&mut body).poll_frame(&mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(matches!(Pin::new(&mut body).poll_frame(&mut cx), Poll::Ready(None)));
    }

    #[tokio::test]
    async fn a_full_queue_waits_until_the_body_takes_it() {
        let q = SendQueue::new(2);
        let mut body = FramedBody::new(q.clone());
        q.push(b"1").await.unwrap();
        q.push(b"2").await.unwrap();
        let q2 = q.clone();
        let third = tokio::spawn(async move { q2.push(b"3").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "the third message must wait for room");
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body) else { panic!("expected data") };
        assert_eq!(frame.into_data().unwrap().len(), 12);
        third.await.unwrap().unwrap();
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body) else { panic!("expected data") };
        assert_eq!(&frame.into_data().unwrap()[..], &[0, 0, 0, 0, 1, b'3']);
    }

    #[tokio::test]
    async fn wait_room_returns_when_the_body_takes_the_queue_or_goes_away() {
        let q = SendQueue::new(1);
        let mut body = FramedBody::new(q.clone());
        assert!(q.wait_room().await, "an empty queue has room");
        q.push(b"1").await.unwrap();
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.wait_room().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "a full queue has no room");
        let Poll::Ready(Some(Ok(_))) = poll(&mut body) else { panic!("expected data") };
        assert!(waiter.await.unwrap());
        // A sender that waits for room alongside is not starved by the waiter.
        q.push(b"2").await.unwrap();
        let q3 = q.clone();
        let sender = tokio::spawn(async move { q3.push(b"3").await });
        let q4 = q.clone();
        let waiter = tokio::spawn(async move { q4.wait_room().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Poll::Ready(Some(Ok(_))) = poll(&mut body) else { panic!("expected data") };
        tokio::time::timeout(Duration::from_secs(5), sender).await.expect("the sender got room").unwrap().unwrap();
        let Poll::Ready(Some(Ok(_))) = poll(&mut body) else { panic!("expected data") };
        assert!(tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("the waiter returned").unwrap());
        drop(body);
        assert!(!q.wait_room().await, "no room once the call is over");
    }

    #[tokio::test]
    async fn dropping_the_body_releases_a_waiting_sender() {
        let q = SendQueue::new(1);
        let mut body = FramedBody::new(q.clone());
        // The transport started on the body (the request went out).
        assert!(poll(&mut body).is_pending());
        q.push(b"1").await.unwrap();
        let q2 = q.clone();
        let second = tokio::spawn(async move { q2.push(b"2").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(body);
        assert!(second.await.unwrap().is_err());
        assert!(q.push(b"3").await.is_err());
    }

    #[tokio::test]
    async fn a_body_dropped_unpolled_leaves_the_queue_to_the_next_attempt() {
        let q = SendQueue::new(1);
        q.push(b"1").await.unwrap();
        let q2 = q.clone();
        let second = tokio::spawn(async move { q2.push(b"2").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Connecting failed: the body was never polled. The message stays queued and the
        // sender keeps waiting, for the body of the next attempt.
        drop(FramedBody::new(q.clone()));
        assert!(!q.was_polled());
        let mut next = FramedBody::new(q.clone());
        let Poll::Ready(Some(Ok(frame))) = poll(&mut next) else { panic!("expected the queued message") };
        assert_eq!(&frame.into_data().unwrap()[..], &super::frame(b"1")[..]);
        assert!(second.await.unwrap().is_ok(), "the waiting sender got room");
        // The owner ends the call: senders stop.
        drop(next);
        q.abandon();
        assert!(q.push(b"3").await.is_err());
    }

    #[tokio::test]
    async fn cancel_resets_after_the_queued_messages() {
        let q = SendQueue::new(4);
        let mut body = FramedBody::new(q.clone());
        q.push(b"x").await.unwrap();
        q.close(false);
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(_)))));
        let Poll::Ready(Some(Err(status))) = poll(&mut body) else { panic!("expected a reset") };
        assert_eq!(status.code(), tonic::Code::Cancelled);
        // The reset is the end: nothing after it.
        q.close(true);
        assert!(matches!(poll(&mut body), Poll::Ready(None)));
    }

    #[test]
    fn frame_prefixes_the_length_big_endian() {
        assert_eq!(&frame(b"")[..], &[0, 0, 0, 0, 0]);
        let big = frame(&[9u8; 0x1_0203]);
        assert_eq!(&big[..PREFIX], &[0, 0, 1, 2, 3]);
        assert_eq!(big.len(), PREFIX + 0x1_0203);
    }
}
