//! The reporter: `swtls_report`, flush, close and the counters.

use super::channel::{swtls_channel, timeout};
use super::{arg_bytes, arg_out, arg_ref, arg_str, guard};
use crate::error::Status;
use crate::stats::{with_counters, Stats};
use crate::tls::TlsMode;
use std::ffi::c_char;

/// Size of `swtls_stats.backend`: room for any `host:port` (a 253-character DNS name,
/// brackets around an IPv6 address, the port) and the terminating NUL.
pub const STATS_BACKEND_SIZE: usize = 264;

/// The reporter's counters, the backend in use and the TLS mode, as filled by
/// `swtls_channel_stats`. All counts are since the channel was made (in a process made by
/// `fork()`, since the child first used it).
///
/// At every moment: `queued = acknowledged + dropped_queue_full + dropped_closed +
/// dropped_server_error + pending`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct swtls_stats {
    /// Messages passed to `swtls_report` on the open channel: queued, or dropped at once
    /// because the queue was full.
    pub queued: u64,
    /// Messages written to a stream.
    pub sent: u64,
    /// Messages on streams the server answered with OK: delivered.
    pub acknowledged: u64,
    /// Messages not acknowledged nor dropped yet: in a queue or on an open stream.
    pub pending: u64,
    /// Messages `swtls_report` dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Messages dropped because the channel was closed before they were delivered.
    pub dropped_closed: u64,
    /// Messages sent on a stream that then failed. The server may have processed some of
    /// them; none is sent again (at most once).
    pub dropped_server_error: u64,
    /// Reporter streams that did not end with OK (including attempts that could not connect).
    pub failed_streams: u64,
    /// Connections opened after the first one (after a failure, a backend switch, a DNS change).
    pub reconnects: u64,
    /// Connection attempts that failed (refused, not resolved, TLS handshake failed).
    pub connect_failures: u64,
    /// Times the channel moved to another backend.
    pub backend_switches: u64,
    /// Bytes of the messages written to streams.
    pub bytes_sent: u64,
    /// Bytes waiting in the queues now.
    pub queued_bytes: u64,
    /// Index of the backend in use in `collector.backend_service` (0 for the first).
    pub backend_index: u32,
    /// The channel's TLS mode.
    pub tls_mode: TlsMode,
    /// The backend in use as `host:port`, NUL-terminated.
    pub backend: [c_char; STATS_BACKEND_SIZE],
}

impl From<&Stats> for swtls_stats {
    fn from(s: &Stats) -> swtls_stats {
        let mut backend = [0 as c_char; STATS_BACKEND_SIZE];
        for (dst, src) in backend.iter_mut().zip(s.backend.to_string().bytes().take(STATS_BACKEND_SIZE - 1)) {
            *dst = src as c_char;
        }
        macro_rules! convert {
            ($($counter:ident),*) => {
                swtls_stats {
                    $($counter: s.$counter,)*
                    backend_index: u32::try_from(s.backend_index).unwrap_or(u32::MAX),
                    tls_mode: s.tls_mode,
                    backend,
                }
            };
        }
        with_counters!(convert)
    }
}

/// Reports one message on a client-streaming `method` (e.g.
/// `/skywalking.v3.TraceSegmentReportService/collect`) without waiting for the network:
/// the bytes are copied into that method's bounded queue, and a background task sends the
/// queue on a stream it keeps open to the current backend (reconnecting and failing over
/// as needed). `message` may be NULL when `message_len` is 0.
///
/// Returns `SWTLS_STATUS_OK` when the message was queued; `SWTLS_STATUS_RESOURCE_EXHAUSTED`
/// when its queue was full and the message was dropped (counted in `dropped_queue_full`;
/// the bounds are `swtls.report_queue_messages` and `swtls.report_queue_bytes`);
/// `SWTLS_STATUS_CLOSED` after `swtls_channel_close`; `SWTLS_STATUS_INVALID_METHOD` for a
/// bad path. A channel reports to at most `SWTLS_REPORT_MAX_METHODS` methods
/// (`SWTLS_STATUS_INVALID_PARAMETER` for more).
///
/// Delivery is at most once: each message is acknowledged by the server, or dropped and
/// counted, never sent twice (see `swtls_stats`).
#[no_mangle]
pub unsafe extern "C" fn swtls_report(
    channel: *const swtls_channel,
    method: *const c_char,
    message: *const u8,
    message_len: usize,
) -> Status {
    guard("swtls_report", || {
        let channel = arg_ref(channel, "channel")?;
        let method = arg_str(method, "method")?;
        let message = arg_bytes(message, message_len, "message")?;
        channel.inner.report(method, message)
    })
}

/// Waits until every message reported before the call has been acknowledged by the
/// server, or `timeout_ms` ran out (0 means `collector.grpc_upstream_timeout`). Reports
/// from other threads go on meanwhile; the flush does not wait for them.
///
/// Returns `SWTLS_STATUS_OK` when all of them were acknowledged;
/// `SWTLS_STATUS_DEADLINE_EXCEEDED` when time ran out (the rest stays queued; the message
/// says how many and the last failure); the status of the failure when some of them were
/// dropped after a server error (e.g. `SWTLS_STATUS_UNAUTHENTICATED`); `SWTLS_STATUS_CLOSED`
/// after close. Blocks the calling thread only.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_flush(channel: *const swtls_channel, timeout_ms: u32) -> Status {
    guard("swtls_channel_flush", || {
        let channel = arg_ref(channel, "channel")?;
        channel.inner.flush_blocking(timeout(timeout_ms))
    })
}

/// Closes the channel: delivers what is queued for up to `timeout_ms` (0 means
/// `collector.grpc_upstream_timeout`), then drops what is left (counted in
/// `dropped_closed`), stops the background tasks and closes the connections. Returns as
/// `swtls_channel_flush` does (`SWTLS_STATUS_OK`: everything was delivered); the channel is
/// closed whatever it returns.
///
/// Afterwards every call on the channel returns `SWTLS_STATUS_CLOSED` (a second close
/// too), except `swtls_channel_stats` (the final counters), `swtls_channel_tls_mode`,
/// `swtls_channel_tls_reason`, and `swtls_channel_free`, which releases the handle: close
/// frees everything but the handle, so that calls racing with it stay safe.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_close(channel: *const swtls_channel, timeout_ms: u32) -> Status {
    guard("swtls_channel_close", || {
        let channel = arg_ref(channel, "channel")?;
        channel.inner.close_blocking(timeout(timeout_ms))
    })
}

/// Writes the reporter's counters, the backend in use and the TLS mode to `*out_stats`.
/// Never blocks on the network. After `swtls_channel_close`, the final counters.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_stats(channel: *const swtls_channel, out_stats: *mut swtls_stats) -> Status {
    guard("swtls_channel_stats", || {
        let channel = arg_ref(channel, "channel")?;
        let out = arg_out(out_stats, "out_stats")?;
        out.write(swtls_stats::from(&channel.inner.stats()));
        Ok(())
    })
}
