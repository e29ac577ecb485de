//! What a failed call of a [`BackendPool`] says: tonic's statuses and the connection's
//! own diagnosis turned into errors that name the backend, the cause and the fix.

use super::BackendPool;
use crate::call::MAX_RESPONSE_BYTES;
use crate::error::{Error, Status};
use std::time::{Duration, Instant};

impl BackendPool {
    pub(super) fn deadline_error(&self, method: &str, deadline: Duration, idx: usize) -> Error {
        let target = &self.targets[idx % self.targets.len()];
        let mut msg = format!("{method} on {} did not finish within {:?}", target.backend, deadline);
        if let Some(d) = target.diag.since(Instant::now() - deadline) {
            msg.push_str(&format!(" (last connection problem: {})", d.error.message));
        }
        Error::new(Status::DeadlineExceeded, msg)
    }

    /// Like [`BackendPool::classify`], and when the connection died before the server said
    /// anything readable, probes the backend once to find out why.
    pub(super) async fn explain(
        &self,
        idx: usize,
        status: &tonic::Status,
        method: &str,
        started: Instant,
    ) -> (Error, bool) {
        let (e, not_sent, ambiguous) = self.classify(idx, status, method, started);
        if ambiguous {
            if let Some(better) = crate::connect::probe(&self.targets[idx]).await {
                return (better, not_sent);
            }
        }
        (e, not_sent)
    }

    /// Turns a tonic status into our error, and says whether the request surely was not
    /// sent (the connection could not be made, so another backend may be tried) and whether
    /// the failure is ambiguous (worth a probe).
    fn classify(&self, idx: usize, status: &tonic::Status, method: &str, started: Instant) -> (Error, bool, bool) {
        let target = &self.targets[idx];
        let b = &target.backend;
        let mut source = std::error::Error::source(status);
        while let Some(e) = source {
            if let Some(ours) = e.downcast_ref::<Error>() {
                return (ours.clone(), true, false);
            }
            if e.is::<tonic::TimeoutExpired>() {
                // tonic's own timer for the call's grpc-timeout: the deadline, not a
                // transport failure (the connection is fine; no retry, no reconnect).
                let msg = format!("{method} on {b} did not finish within its deadline ({:?})", started.elapsed());
                return (Error::new(Status::DeadlineExceeded, msg), false, false);
            }
            source = e.source();
        }
        let transport = std::error::Error::source(status).is_some();
        if transport {
            if let Some(d) = target.diag.since(started) {
                return (d.error, false, d.ambiguous);
            }
            if let Some(e) = target.explain_protocol_error(status.message()) {
                return (e, false, false);
            }
            let code = match status.code() {
                tonic::Code::Unknown | tonic::Code::Internal => Status::Unavailable,
                c => Status::from_grpc(c),
            };
            return (
                Error::new(code, format!("{method} on {b} failed in transport: {}", status.message())),
                false,
                false,
            );
        }
        // tonic's words for a message over a decoding limit; only ours is about the response
        // (a server saying the same is refusing our request: its answer below says so).
        if status.message().contains("message length too large")
            && status.message().contains(&format!("the limit is: {MAX_RESPONSE_BYTES} bytes"))
        {
            return (
                Error::new(
                    Status::ResourceExhausted,
                    format!(
                        "the response to {method} from {b} is larger than the {} MiB limit ({})",
                        MAX_RESPONSE_BYTES >> 20,
                        status.message()
                    ),
                ),
                false,
                false,
            );
        }
        let code = Status::from_grpc(status.code());
        (Error::new(code, format!("{b} answered {method} with {}: {}", code.name(), status.message())), false, false)
    }
}
