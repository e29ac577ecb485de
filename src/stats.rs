//! A channel's counters as one process sees them: the reporter's (messages queued, sent,
//! acknowledged, dropped), the backend pool's (connections, backend switches), the backend
//! in use and the TLS mode. Each part adds its own counters to a snapshot.

use crate::backend::Backend;
use crate::tls::TlsMode;

/// A channel's counters, the backend in use and the TLS mode (one process's view).
///
/// `queued = acknowledged + dropped_queue_full + dropped_closed + dropped_server_error +
/// pending` holds in every snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Messages handed to `report` while the channel was open: queued, or dropped at once
    /// because the queue was full.
    pub queued: u64,
    /// Messages written to a stream.
    pub sent: u64,
    /// Messages on streams the server answered with OK.
    pub acknowledged: u64,
    /// Messages neither acknowledged nor dropped yet: in a queue or on an open stream.
    pub pending: u64,
    /// Messages dropped by `report` because their queue was full.
    pub dropped_queue_full: u64,
    /// Messages dropped because the channel was closed before they were delivered.
    pub dropped_closed: u64,
    /// Messages sent on a stream that then failed (never sent again).
    pub dropped_server_error: u64,
    /// Reporter streams that did not end with OK (including those that could not connect).
    pub failed_streams: u64,
    /// Connections opened after the first one (after a failure, a switch, a DNS change).
    pub reconnects: u64,
    /// Connection attempts that failed (refused, not resolved, TLS handshake failed).
    pub connect_failures: u64,
    /// Times the channel moved to another backend.
    pub backend_switches: u64,
    /// Bytes of the messages written to streams.
    pub bytes_sent: u64,
    /// Bytes waiting in the queues now.
    pub queued_bytes: u64,
    /// Index of the backend in use in `collector.backend_service`.
    pub backend_index: usize,
    /// The backend in use.
    pub backend: Backend,
    /// The channel's TLS mode.
    pub tls_mode: TlsMode,
}

/// Calls `$m!` with the names of the `u64` counters that [`Stats`] and the C API's
/// `swtls_stats` share (the C header's names). The conversions (`ffi`'s `swtls_stats`, the
/// JNI's named counters) and [`Stats::empty`] go through this one list; their struct
/// literals fail to compile when it misses a field of either structure.
macro_rules! with_counters {
    ($m:ident) => {
        $m!(
            queued,
            sent,
            acknowledged,
            pending,
            dropped_queue_full,
            dropped_closed,
            dropped_server_error,
            failed_streams,
            reconnects,
            connect_failures,
            backend_switches,
            bytes_sent,
            queued_bytes
        )
    };
}
pub(crate) use with_counters;

impl Stats {
    pub(crate) fn empty(backend: Backend, tls_mode: TlsMode) -> Stats {
        macro_rules! zero {
            ($($counter:ident),*) => {
                Stats { $($counter: 0,)* backend_index: 0, backend, tls_mode }
            };
        }
        with_counters!(zero)
    }

    /// Every message dropped, whatever the cause.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_closed + self.dropped_server_error
    }
}
