//! `swtls-collector`: an embedded, SkyWalking-compatible gRPC collector for the
//! swtls demo and tests.
//!
//! * Serves `skywalking.v3.ManagementService` (`keepAlive`,
//!   `reportInstanceProperties`), `skywalking.v3.TraceSegmentReportService/collect`,
//!   `JVMMetricReportService/collect`, `EventService/collect` and the other report and
//!   polling methods the SkyWalking Java agent calls (answered with empty `Commands`),
//!   plus test helpers on `swtls.test.Echo` (see [`methods`]).
//! * Plaintext (h2c), TLS or mutual TLS with a rustls server configuration built
//!   here (ALPN h2; TLS 1.2 and/or 1.3), optional SkyWalking-style token check.
//! * Records what it received ([`Received`]) and reports [`Event`]s.
//! * [`certs`] makes CAs, server/client certificates and keys for the tests (it is
//!   `swtls::certs`, re-exported).
//!
//! The few messages it decodes are generated at build time from
//! `proto/skywalking_v3.proto` ([`proto`]; prost-build with the pure-Rust `protox`
//! parser, so no `protoc` is needed); the services speak raw bytes through
//! [`BytesCodec`].

pub use swtls::certs;
mod codec;
mod pipe;
pub mod proto;
mod record;
mod server;
mod tls;

pub use codec::BytesCodec;
pub use pipe::{tls_pipe, PipeResult};
pub use record::{
    CallKind, CallRecord, Event, EventHook, HandshakeFailure, HandshakeInfo, Received, SegmentSummary, RECORD_LIMIT,
};
pub use server::{BlockingCollector, Collector, CollectorOptions, TlsMode, TlsVersions};

/// Full gRPC method paths the collector serves. Anything else is UNIMPLEMENTED.
pub mod methods {
    /// Unary, `InstancePingPkg` → `Commands`; recorded in `Received::pings`.
    pub const KEEP_ALIVE: &str = "/skywalking.v3.ManagementService/keepAlive";
    /// Unary, `InstanceProperties` → `Commands`.
    pub const REPORT_INSTANCE_PROPERTIES: &str = "/skywalking.v3.ManagementService/reportInstanceProperties";
    /// Client streaming, `SegmentObject`s → `Commands`; recorded in `Received::segments`.
    pub const SEGMENT_COLLECT: &str = "/skywalking.v3.TraceSegmentReportService/collect";
    /// Client streaming (messages counted only) → `Commands`.
    pub const LOG_COLLECT: &str = "/skywalking.v3.LogReportService/collect";
    /// Client streaming (messages counted only) → `Commands`.
    pub const METER_COLLECT: &str = "/skywalking.v3.MeterReportService/collect";
    /// Client streaming (messages counted only) → `Commands`.
    pub const METER_COLLECT_BATCH: &str = "/skywalking.v3.MeterReportService/collectBatch";
    /// Unary, `JVMMetricCollection` → `Commands`; recorded in `Received::jvm_metrics`.
    pub const JVM_METRIC_COLLECT: &str = "/skywalking.v3.JVMMetricReportService/collect";
    /// Client streaming, `Event`s → `Commands`; recorded in `Received::events`.
    pub const EVENT_COLLECT: &str = "/skywalking.v3.EventService/collect";
    /// Unary (`ProfileTaskCommandQuery`, which agents poll) → `Commands` (no task).
    pub const PROFILE_TASK_COMMANDS: &str = "/skywalking.v3.ProfileTask/getProfileTaskCommands";
    /// Client streaming (messages counted only) → `Commands`.
    pub const PROFILE_COLLECT_SNAPSHOT: &str = "/skywalking.v3.ProfileTask/collectSnapshot";
    /// Unary (body ignored) → `Commands`.
    pub const PROFILE_TASK_FINISH: &str = "/skywalking.v3.ProfileTask/reportTaskFinish";
    /// Unary (body ignored) → `Commands` (no configuration).
    pub const FETCH_CONFIGURATIONS: &str = "/skywalking.v3.ConfigurationDiscoveryService/fetchConfigurations";
    /// Unary: answers the request bytes unchanged.
    pub const ECHO_UNARY: &str = "/swtls.test.Echo/unary";
    /// Unary: the request is an ASCII decimal N; answers N bytes.
    pub const ECHO_BIG: &str = "/swtls.test.Echo/big";
    /// Unary: the request is an ASCII decimal number of milliseconds; sleeps that
    /// long, then answers the request bytes.
    pub const ECHO_SLOW: &str = "/swtls.test.Echo/slow";
    /// Client streaming: answers ASCII `"COUNT BYTES"` (messages and their total size).
    pub const ECHO_COLLECT: &str = "/swtls.test.Echo/collect";
    /// Unary: answers the value of the `authentication` metadata (empty if none).
    pub const ECHO_METADATA: &str = "/swtls.test.Echo/metadata";
}

/// An error of this crate: a message that names the file, address or thing at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<certs::CertError> for Error {
    fn from(e: certs::CertError) -> Error {
        Error(e.message().to_string())
    }
}
