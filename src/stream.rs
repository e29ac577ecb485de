//! A client-streaming call ([`ClientStream`]): messages go into a small buffer (`framed`)
//! that the call's body sends to the backend as they come; the response comes at the end.
//! Cancellable and pollable for readiness from any thread.

use crate::call::{self, parse_method, CallOptions, CancelToken};
use crate::error::{Error, Result, Status};
use crate::framed::SendQueue;
use crate::pool::BackendPool;
use crate::runtime::{self, block_on, runtime};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// Messages a client stream buffers before `send` waits for the network.
const STREAM_BUFFER: usize = 64;

/// An open client-streaming call. Not for concurrent use from several threads at once.
pub struct ClientStream {
    /// Where `send` puts messages; `None` once finished (or the call was found over).
    queue: Option<Arc<SendQueue>>,
    /// `finish` was called.
    finished: bool,
    task: Option<tokio::task::JoinHandle<Result<Bytes>>>,
    outcome: Option<Result<Bytes>>,
    method: String,
    /// The process generation the stream was opened in: streams do not survive fork().
    generation: u64,
    /// Raised by [`StreamCanceller::cancel`] (or the caller's token): the call ends.
    cancel: CancelToken,
    readiness: StreamReadiness,
}

/// Cancels a [`ClientStream`] from any thread, also while another thread is blocked in its
/// `send` or `finish` (which then return `CANCELLED`).
#[derive(Debug, Clone)]
pub struct StreamCanceller {
    cancel: CancelToken,
}

impl StreamCanceller {
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// Tells from any thread whether a [`ClientStream`] would take a message without waiting,
/// and waits until it would: flow control for callers that must never block in a send
/// (grpc-java's `ClientCall.isReady` and `onReady`). It takes no lock that a send holds.
#[derive(Clone)]
pub struct StreamReadiness {
    queue: Arc<SendQueue>,
    cancel: CancelToken,
    generation: u64,
}

impl StreamReadiness {
    /// True when a send would not wait now (the stream's buffer has room); false once the
    /// stream is finished, cancelled or over.
    pub fn is_ready(&self) -> bool {
        self.generation == runtime::generation() && !self.cancel.is_cancelled() && self.queue.has_room()
    }

    /// Waits up to `timeout` until a send would not wait.
    pub async fn ready(&self, timeout: Duration) -> Readiness {
        if self.generation != runtime::generation() {
            return Readiness::Closed;
        }
        tokio::select! {
            r = tokio::time::timeout(timeout, self.queue.wait_room()) => match r {
                Ok(true) if !self.cancel.is_cancelled() => Readiness::Ready,
                Ok(_) => Readiness::Closed,
                Err(_) => Readiness::Full,
            },
            () = self.cancel.cancelled() => Readiness::Closed,
        }
    }

    /// Blocking form of [`StreamReadiness::ready`] for plain threads.
    pub fn ready_blocking(&self, timeout: Duration) -> Result<Readiness> {
        block_on(self.ready(timeout))
    }
}

/// What [`StreamReadiness::ready`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A send would not wait now.
    Ready = 0,
    /// The time ran out with the stream's buffer still full.
    Full = 1,
    /// The stream takes no more messages: it was finished or cancelled, or the call is over
    /// (a send or `finish` then says how it ended).
    Closed = 2,
}

impl ClientStream {
    /// Opens a client-streaming call on the current backend of `pool` (see
    /// [`Channel::open_stream_with`](crate::Channel::open_stream_with)).
    pub(crate) fn open(pool: Arc<BackendPool>, method: &str, options: &CallOptions) -> Result<ClientStream> {
        let path = parse_method(method)?;
        let deadline = options.timeout.unwrap_or(pool.settings.timeout);
        let queue = SendQueue::new(STREAM_BUFFER);
        let method_owned = method.to_string();
        let idx = pool.current_index();
        let cancel = options.cancel.clone().unwrap_or_default();
        let metadata = options.metadata.clone();
        let task = {
            let (cancel, queue) = (cancel.clone(), queue.clone());
            runtime().spawn(async move {
                let call = pool.stream_call(idx, path, &method_owned, &metadata, &queue, deadline);
                tokio::pin!(call);
                let r = tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        // The body ends with a reset; give the transport a moment to send it
                        // before the call is dropped.
                        queue.close(false);
                        let _ = tokio::time::timeout(Duration::from_millis(100), &mut call).await;
                        Err(call::cancelled_error(&method_owned))
                    }
                    r = &mut call => r,
                };
                // The call is over: senders stop waiting (a retryable body left that to us).
                queue.abandon();
                r
            })
        };
        Ok(ClientStream {
            readiness: StreamReadiness {
                queue: queue.clone(),
                cancel: cancel.clone(),
                generation: runtime::generation(),
            },
            queue: Some(queue),
            finished: false,
            task: Some(task),
            outcome: None,
            method: method.to_string(),
            generation: runtime::generation(),
            cancel,
        })
    }

    /// A handle that tells from any thread whether this stream would take a message now,
    /// and waits until it would.
    pub fn readiness(&self) -> StreamReadiness {
        self.readiness.clone()
    }

    /// A handle that cancels this stream from any thread.
    pub fn canceller(&self) -> StreamCanceller {
        StreamCanceller { cancel: self.cancel.clone() }
    }

    /// True when a send would not wait now (the stream's buffer has room).
    pub fn is_ready(&self) -> bool {
        self.queue.as_ref().is_some_and(|q| q.has_room())
    }

    /// Queues one message (the bytes are copied); waits only while the stream's small
    /// buffer is full.
    pub async fn send(&mut self, message: impl AsRef<[u8]>) -> Result<()> {
        let message = message.as_ref();
        if let Some(queue) = self.ready_queue(message)? {
            let pushed = tokio::select! {
                biased;
                () = self.cancel.cancelled() => false,
                r = queue.push(message) => r.is_ok(),
            };
            if pushed {
                return Ok(());
            }
        }
        self.call_over().await
    }

    pub fn send_blocking(&mut self, message: impl AsRef<[u8]>) -> Result<()> {
        let message = message.as_ref();
        runtime::blocking_allowed()?;
        if let Some(queue) = self.ready_queue(message)? {
            match queue.try_push(message) {
                Ok(true) => return Ok(()),
                // Full: wait for room like `send`.
                Ok(false) => return block_on(self.send(message))?,
                Err(_) => {}
            }
        }
        block_on(self.call_over())?
    }

    /// The checks of a send; the queue to use, or `None` when the call is known to be over.
    fn ready_queue(&self, message: &[u8]) -> Result<Option<&Arc<SendQueue>>> {
        self.same_process()?;
        if message.len() > u32::MAX as usize {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("a gRPC message is at most 4 GiB; this one on {} has {} bytes", self.method, message.len()),
            ));
        }
        if self.finished {
            return Err(Error::new(Status::Closed, format!("the stream on {} is already finished", self.method)));
        }
        if self.cancel.is_cancelled() {
            return Ok(None); // the call is over: `call_over` says how
        }
        Ok(self.queue.as_ref())
    }

    /// The call ended before the end of the stream (now or at an earlier send): how it ended.
    async fn call_over(&mut self) -> Result<()> {
        self.queue = None;
        match self.outcome().await {
            Err(e) => Err(e),
            Ok(_) => Err(Error::new(
                Status::Closed,
                format!("the server finished the stream on {} before all messages were sent", self.method),
            )),
        }
    }

    /// Ends the stream and waits for the server's response.
    pub async fn finish(&mut self) -> Result<Bytes> {
        self.same_process()?;
        if self.finished {
            return Err(Error::new(Status::Closed, format!("the stream on {} is already finished", self.method)));
        }
        self.finished = true;
        // After a send found the call over, this returns how it ended again.
        if let Some(queue) = self.queue.take() {
            queue.close(true);
        }
        self.outcome().await
    }

    pub fn finish_blocking(&mut self) -> Result<Bytes> {
        block_on(self.finish())?
    }

    fn same_process(&self) -> Result<()> {
        if self.generation == runtime::generation() {
            return Ok(());
        }
        Err(Error::new(
            Status::FailedPrecondition,
            format!(
                "the stream on {} was opened before fork() in the parent process; streams do not survive fork(): \
                 open a new one in this process (the channel itself works here)",
                self.method
            ),
        ))
    }

    async fn outcome(&mut self) -> Result<Bytes> {
        if let Some(task) = self.task.take() {
            let r = match task.await {
                Ok(r) => r,
                Err(e) => Err(Error::new(Status::Internal, format!("the stream task on {} failed: {e}", self.method))),
            };
            self.outcome = Some(r);
        }
        self.outcome.clone().unwrap_or_else(|| Err(Error::new(Status::Closed, "stream already finished")))
    }
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        if self.generation != runtime::generation() {
            // Opened by the parent before fork(): its task belongs to a runtime whose
            // threads do not exist here; touching it could block. Leak it.
            std::mem::forget(self.queue.take());
            std::mem::forget(self.task.take());
            return;
        }
        // Dropping an unfinished stream cancels the call: the body ends with a
        // cancellation (an HTTP/2 reset), never with a clean end of stream. The call's task
        // is left to see that through (it ends as soon as the reset is sent); aborting it
        // here could drop the call before the transport had read the cancellation.
        if let Some(queue) = self.queue.take() {
            queue.close(false);
        }
        drop(self.task.take());
    }
}
