//! The calls of a [`BackendPool`]: unary calls, the call of a client stream
//! ([`crate::stream`]) and the reporter's streams, tried on the backends in turn while
//! connecting fails.

use super::BackendPool;
use crate::call::{parse_method, CallOptions, Metadata, MAX_RESPONSE_BYTES};
use crate::codec::RawCodec;
use crate::error::{Error, Result, Status};
use crate::framed::{self, FramedBody, SendQueue};
use bytes::Bytes;
use http::uri::PathAndQuery;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl BackendPool {
    fn request<T>(&self, message: T, deadline: Duration, metadata: &Metadata) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        req.set_timeout(deadline);
        metadata.apply(req.metadata_mut());
        if let Some(token) = &self.settings.auth {
            req.metadata_mut().insert("authentication", token.clone());
        }
        req
    }

    pub(crate) async fn unary(&self, method: &str, body: Bytes, options: &CallOptions) -> Result<Bytes> {
        let path = parse_method(method)?;
        let deadline = options.timeout.unwrap_or(self.settings.timeout);
        let n = self.targets.len();
        let first = self.current_index();
        let call_started = Instant::now();
        let attempts = async {
            let mut last = None;
            let mut stale_retried = false;
            let mut i = 0;
            while i < n {
                let idx = (first + i) % n;
                let started = Instant::now();
                let connects = self.targets[idx].health.connects();
                let result = self.call_unary(idx, &path, body.clone(), deadline, &options.metadata).await;
                match result {
                    Ok(resp) => {
                        if i > 0 {
                            self.switch(
                                first,
                                idx,
                                &format!("{} did not accept a connection", self.targets[first].backend),
                            );
                        }
                        return Ok(resp);
                    }
                    Err(CallError::Closed(e)) => return Err(e),
                    Err(CallError::Status(status)) if timed_out(&status) => {
                        return Err(self.deadline_error(method, deadline, idx));
                    }
                    Err(CallError::Status(status)) => {
                        if call_started.elapsed() >= deadline {
                            // The deadline passed as the call failed: whatever tonic or the
                            // server made of it (a timer, a reset stream), that is the cause.
                            return Err(self.deadline_error(method, deadline, idx));
                        }
                        let (e, not_sent) = self.explain(idx, &status, method, started).await;
                        // A transport failure on a connection made before this call started
                        // (none was made during it): the server had closed that connection
                        // (restart, idle timeout, rotation). Retried once on a new one.
                        let transport = std::error::Error::source(&status).is_some();
                        if transport
                            && e.status != Status::DeadlineExceeded
                            && !not_sent
                            && !stale_retried
                            && connects > 0
                            && self.targets[idx].health.connects() == connects
                        {
                            stale_retried = true;
                            self.renew(idx, connects);
                            debug!(
                                "{}; the connection was stale, retrying {method} once on a new connection",
                                e.message
                            );
                            continue;
                        }
                        if not_sent && i + 1 < n {
                            warn!("{}; trying the next backend", e.message);
                            last = Some(e);
                            i += 1;
                            continue;
                        }
                        self.after_failure(idx, &e);
                        return Err(e);
                    }
                }
            }
            Err(last.unwrap_or_else(|| Error::new(Status::Unavailable, "no backend configured")))
        };
        match tokio::time::timeout(deadline, attempts).await {
            Ok(r) => r,
            Err(_) => Err(self.deadline_error(method, deadline, first)),
        }
    }

    async fn call_unary(
        &self,
        idx: usize,
        path: &PathAndQuery,
        body: Bytes,
        deadline: Duration,
        metadata: &Metadata,
    ) -> std::result::Result<Bytes, CallError> {
        let mut grpc = self.grpc(idx).map_err(CallError::Closed)?;
        grpc.ready().await.map_err(|e| CallError::Status(tonic::Status::from_error(Box::new(e))))?;
        Ok(grpc
            .unary(self.request(body, deadline, metadata), path.clone(), RawCodec)
            .await
            .map_err(CallError::Status)?
            .into_inner())
    }

    /// One client-streaming call on backend `idx` (a client stream or a reporter
    /// stream): sends what `body` yields (messages in gRPC framing) and returns the
    /// server's answer. A failure comes back classified, and counts against the backend.
    async fn client_stream<B>(
        &self,
        idx: usize,
        path: PathAndQuery,
        method: &str,
        metadata: &Metadata,
        body: B,
        deadline: Duration,
    ) -> Result<Bytes>
    where
        B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
    {
        let result = self.client_stream_attempt(idx, path, method, metadata, body, deadline).await.map_err(|(e, _)| e);
        if let Err(e) = &result {
            self.after_failure(idx, e);
        }
        result
    }

    /// [`BackendPool::client_stream`] without counting a failure against the backend; a
    /// failure says whether nothing was sent (connecting failed).
    async fn client_stream_attempt<B>(
        &self,
        idx: usize,
        path: PathAndQuery,
        method: &str,
        metadata: &Metadata,
        body: B,
        deadline: Duration,
    ) -> std::result::Result<Bytes, (Error, bool)>
    where
        B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
    {
        let started = Instant::now();
        let channel = self.channel(idx).map_err(|e| (e, false))?;
        let (metadata, _, ()) = self.request((), deadline, metadata).into_parts();
        let call = framed::client_streaming(channel, path, metadata, body, MAX_RESPONSE_BYTES);
        match tokio::time::timeout(deadline, call).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(status)) if timed_out(&status) => Err((self.deadline_error(method, deadline, idx), false)),
            Ok(Err(status)) => Err(self.explain(idx, &status, method, started).await),
            Err(_) => Err((self.deadline_error(method, deadline, idx), false)),
        }
    }

    /// The call of a client stream: [`BackendPool::client_stream`] on backend `first`
    /// and, while connecting fails before the request went out, on the next backends (as
    /// unary calls do), with the messages queued meanwhile. The deadline covers every
    /// attempt.
    pub(crate) async fn stream_call(
        &self,
        first: usize,
        path: PathAndQuery,
        method: &str,
        metadata: &Metadata,
        queue: &Arc<SendQueue>,
        deadline: Duration,
    ) -> Result<Bytes> {
        let n = self.targets.len();
        let started = Instant::now();
        let mut i = 0;
        loop {
            let idx = (first + i) % n;
            // The first attempt carries the deadline as given (the server sees it exactly).
            let left = if i == 0 { deadline } else { deadline.saturating_sub(started.elapsed()) };
            let body = FramedBody::new(queue.clone());
            match self.client_stream_attempt(idx, path.clone(), method, metadata, body, left).await {
                Ok(resp) => {
                    if i > 0 {
                        self.switch(
                            first,
                            idx,
                            &format!("{} did not accept a connection", self.targets[first].backend),
                        );
                    }
                    return Ok(resp);
                }
                Err((e, not_sent)) if not_sent && i + 1 < n && !queue.was_polled() && !left.is_zero() => {
                    warn!("{}; trying the next backend", e.message);
                    self.targets[idx].health.mark_down();
                    i += 1;
                }
                Err((e, _)) => {
                    self.after_failure(idx, &e);
                    return Err(e);
                }
            }
        }
    }

    /// One client stream of the reporter on backend `idx`: [`BackendPool::client_stream`],
    /// and an answer marks the backend up.
    pub(crate) async fn report_stream<B>(
        &self,
        idx: usize,
        path: &PathAndQuery,
        method: &str,
        body: B,
        deadline: Duration,
    ) -> Result<()>
    where
        B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
    {
        self.client_stream(idx, path.clone(), method, &Metadata::new(), body, deadline).await?;
        self.targets[idx].health.mark_up();
        Ok(())
    }
}

/// How a unary attempt failed: the channel was closed, or the call ended with a status.
enum CallError {
    Closed(Error),
    Status(tonic::Status),
}

/// Whether tonic ended the call because its deadline passed (tonic reports that as
/// CANCELLED "Timeout expired", e.g. when the server accepted the connection but never
/// answered); it is a DEADLINE_EXCEEDED for our callers.
fn timed_out(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = e.source();
    }
    false
}
