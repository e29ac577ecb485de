//! What the collector saw: a shared record and the events it reports.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Vectors in [`Received`] stop growing at this many entries (counters go on).
pub const RECORD_LIMIT: usize = 1_000_000;

/// One trace segment received on `TraceSegmentReportService/collect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    /// `traceId`
    pub trace_id: String,
    /// `traceSegmentId`
    pub segment_id: String,
    /// `service`
    pub service: String,
    /// `serviceInstance`
    pub instance: String,
}

/// How a call was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// One request message, one response.
    Unary,
    /// Many request messages, one response.
    ClientStreaming,
}

/// One gRPC call as it arrived (recorded before it is handled).
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// Full method path, e.g. `/skywalking.v3.ManagementService/keepAlive`.
    pub method: String,
    /// Unary or client streaming (as the collector serves that method; unknown
    /// methods are recorded as unary).
    pub kind: CallKind,
    /// The client's address.
    pub peer: Option<SocketAddr>,
    /// The `authentication` metadata, if sent.
    pub authentication: Option<String>,
    /// The `grpc-timeout` header (the client's deadline), if sent.
    pub grpc_timeout: Option<String>,
    /// The `user-agent` header, if sent.
    pub user_agent: Option<String>,
    /// The `:authority` of the request, if any.
    pub authority: Option<String>,
    /// Whether the call passed the token check.
    pub authorized: bool,
    /// Every request header that is not HTTP/2 or gRPC's own, in arrival order, as
    /// `(name, value)`; `-bin` values as they came (base64).
    pub metadata: Vec<(String, String)>,
}

/// A TLS handshake that succeeded.
#[derive(Clone, Debug)]
pub struct HandshakeInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Negotiated protocol: `"TLSv1.2"` or `"TLSv1.3"`.
    pub protocol: String,
    /// Negotiated cipher suite, e.g. `"TLS13_AES_128_GCM_SHA256"`.
    pub cipher_suite: String,
    /// Negotiated ALPN protocol (`Some("h2")`), or `None` if the client offered none.
    pub alpn: Option<String>,
    /// The SNI the client sent, if any.
    pub sni: Option<String>,
    /// The client certificate chain (DER, leaf first); empty without a client certificate.
    pub client_certs: Vec<Vec<u8>>,
}

/// A TLS handshake that failed.
#[derive(Clone, Debug)]
pub struct HandshakeFailure {
    /// The client's address.
    pub peer: SocketAddr,
    /// Why, in words, e.g. "client did not present a certificate (peer sent no certificates)".
    pub reason: String,
}

/// A snapshot of everything the collector received.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// `(service, instance)` of each `keepAlive`.
    pub pings: Vec<(String, String)>,
    /// Number of `reportInstanceProperties` calls.
    pub instance_properties: usize,
    /// Every segment decoded from `TraceSegmentReportService/collect`.
    pub segments: Vec<SegmentSummary>,
    /// `(service, instance, number of JVMMetric messages)` of each `JVMMetricReportService/collect`.
    pub jvm_metrics: Vec<(String, String, usize)>,
    /// `(name, service, instance)` of each event decoded from `EventService/collect`.
    pub events: Vec<(String, String, String)>,
    /// Client streams (any method) that the client finished and the collector answered.
    pub streams_completed: usize,
    /// Client streams that broke before the client finished them.
    pub streams_failed: usize,
    /// Messages received on client streams (any method, finished or not).
    pub stream_messages: usize,
    /// Unary calls (any method) answered with OK.
    pub unary_calls: usize,
    /// Calls refused with UNAUTHENTICATED because of the token.
    pub auth_rejected: usize,
    /// Messages that did not decode as the expected protobuf message.
    pub decode_errors: usize,
    /// Every call as it arrived, in order.
    pub calls: Vec<CallRecord>,
    /// Calls per method path (all calls, including refused ones).
    pub calls_by_method: BTreeMap<String, usize>,
    /// TCP connections accepted.
    pub connections: usize,
    /// TLS handshakes that succeeded.
    pub tls_handshakes_ok: usize,
    /// TLS handshakes that failed.
    pub tls_handshakes_failed: usize,
    /// Details of each successful handshake.
    pub handshakes: Vec<HandshakeInfo>,
    /// Details of each failed handshake.
    pub handshake_failures: Vec<HandshakeFailure>,
}

impl Received {
    /// The reasons of the failed handshakes, in order.
    pub fn handshake_failure_reasons(&self) -> Vec<String> {
        self.handshake_failures.iter().map(|f| f.reason.clone()).collect()
    }

    /// Number of calls made to `method` (a full path).
    pub fn calls_to(&self, method: &str) -> usize {
        self.calls_by_method.get(method).copied().unwrap_or(0)
    }
}

/// Something the collector saw, as reported to [`crate::CollectorOptions::on_event`].
#[derive(Clone, Debug)]
pub enum Event {
    /// A TCP connection was accepted.
    Connected {
        /// The client's address.
        peer: SocketAddr,
    },
    /// A TLS handshake succeeded.
    Handshake(HandshakeInfo),
    /// A TLS handshake failed.
    HandshakeFailed(HandshakeFailure),
    /// A call arrived.
    Call(CallRecord),
    /// A `keepAlive` was decoded.
    KeepAlive {
        /// `service`
        service: String,
        /// `serviceInstance`
        instance: String,
        /// `layer`
        layer: String,
    },
    /// A `reportInstanceProperties` arrived.
    InstanceProperties {
        /// `service`
        service: String,
        /// `serviceInstance`
        instance: String,
    },
    /// A segment was decoded.
    Segment(SegmentSummary),
    /// A `JVMMetricReportService/collect` was decoded.
    JvmMetrics {
        /// `service`
        service: String,
        /// `serviceInstance`
        instance: String,
        /// How many `JVMMetric` messages it held.
        metrics: usize,
    },
    /// An event was decoded from `EventService/collect`.
    AgentEvent {
        /// `name`, e.g. `Start`
        name: String,
        /// `source.service`
        service: String,
        /// `source.serviceInstance`
        instance: String,
        /// `layer`
        layer: String,
    },
    /// A client stream was finished by the client and answered.
    StreamCompleted {
        /// Method path.
        method: String,
        /// Messages on that stream.
        messages: usize,
        /// Their total size in bytes.
        bytes: usize,
    },
    /// A client stream broke.
    StreamFailed {
        /// Method path.
        method: String,
        /// Messages received before it broke.
        messages: usize,
        /// The error.
        error: String,
    },
    /// A call was refused because of the token.
    AuthRejected {
        /// Method path.
        method: String,
    },
    /// A message did not decode.
    DecodeError {
        /// Method path.
        method: String,
        /// The decoder's error.
        error: String,
    },
}

/// Callback for [`Event`]s. Called on the collector's tasks: keep it quick.
pub type EventHook = Arc<dyn Fn(&Event) + Send + Sync>;

/// The shared, mutable record behind [`Received`] plus the event hook.
pub(crate) struct Recorder {
    inner: Mutex<Received>,
    hook: Option<EventHook>,
}

impl Recorder {
    pub(crate) fn new(hook: Option<EventHook>) -> Recorder {
        Recorder { inner: Mutex::new(Received::default()), hook }
    }

    fn lock(&self) -> MutexGuard<'_, Received> {
        // A panic in a hook never happens under the lock; recover anyway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn snapshot(&self) -> Received {
        self.lock().clone()
    }

    pub(crate) fn clear(&self) {
        *self.lock() = Received::default();
    }

    /// Updates the record, then reports the event (outside the lock).
    pub(crate) fn record(&self, event: Event) {
        {
            let mut r = self.lock();
            match &event {
                Event::Connected { .. } => r.connections += 1,
                Event::Handshake(h) => {
                    r.tls_handshakes_ok += 1;
                    push(&mut r.handshakes, h.clone());
                }
                Event::HandshakeFailed(f) => {
                    r.tls_handshakes_failed += 1;
                    push(&mut r.handshake_failures, f.clone());
                }
                Event::Call(c) => {
                    *r.calls_by_method.entry(c.method.clone()).or_insert(0) += 1;
                    push(&mut r.calls, c.clone());
                }
                Event::KeepAlive { service, instance, .. } => push(&mut r.pings, (service.clone(), instance.clone())),
                Event::InstanceProperties { .. } => r.instance_properties += 1,
                Event::Segment(s) => push(&mut r.segments, s.clone()),
                Event::JvmMetrics { service, instance, metrics } => {
                    push(&mut r.jvm_metrics, (service.clone(), instance.clone(), *metrics))
                }
                Event::AgentEvent { name, service, instance, .. } => {
                    push(&mut r.events, (name.clone(), service.clone(), instance.clone()))
                }
                Event::StreamCompleted { .. } => r.streams_completed += 1,
                Event::StreamFailed { .. } => r.streams_failed += 1,
                Event::AuthRejected { .. } => r.auth_rejected += 1,
                Event::DecodeError { .. } => r.decode_errors += 1,
            }
        }
        if let Some(hook) = &self.hook {
            hook(&event);
        }
    }

    pub(crate) fn count_unary_ok(&self) {
        self.lock().unary_calls += 1;
    }

    pub(crate) fn count_stream_message(&self) {
        self.lock().stream_messages += 1;
    }
}

fn push<T>(v: &mut Vec<T>, item: T) {
    if v.len() < RECORD_LIMIT {
        v.push(item);
    }
}
