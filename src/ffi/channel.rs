//! `swtls_channel` and `swtls_stream`: connecting and calling.

use super::config::swtls_config;
use super::{arg_bytes, arg_out, arg_ref, arg_str, free_handle, guard, guard_or, to_c_bytes, to_handle};
use crate::call::CallOptions;
use crate::channel::Channel;
use crate::error::Status;
use crate::stream::{ClientStream, StreamCanceller};
use crate::tls::TlsMode;
use bytes::Bytes;
use std::ffi::{c_char, CString};
use std::sync::Mutex;
use std::time::Duration;

/// A channel to the configured backends (TLS or plaintext, as the mode table decides),
/// with its reporter (`swtls_report`).
///
/// Thread safety: a `swtls_channel` may be used from any number of threads at once; calls
/// share its connections. `swtls_channel_close` may run while other threads still call it
/// (they get `SWTLS_STATUS_CLOSED`); it must not be freed while another thread still uses it.
///
/// Fork: after `fork()`, a channel made in the parent keeps working in the child, which
/// gets its own connections, report queues and counters (starting from zero); the parent
/// is unaffected. Streams (`swtls_stream`) do not survive fork.
pub struct swtls_channel {
    pub(super) inner: Channel,
    reason: CString,
}

/// An open client-streaming call.
///
/// Thread safety: a `swtls_stream` may be moved between threads, and calls on it from
/// several threads are serialized, but messages from concurrent senders interleave in no
/// defined order.
pub struct swtls_stream {
    pub(super) inner: Mutex<ClientStream>,
    /// Outside the lock: cancelling must not wait for a send or finish in progress.
    pub(super) canceller: StreamCanceller,
}

impl swtls_stream {
    pub(super) fn new(stream: ClientStream) -> swtls_stream {
        swtls_stream { canceller: stream.canceller(), inner: Mutex::new(stream) }
    }
}

pub(super) fn timeout(ms: u32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms as u64))
}

/// The one unary call behind `swtls_channel_unary` and `swtls_channel_unary_with`: `options`
/// gives the call's options once the arguments are checked.
pub(super) unsafe fn unary(
    name: &str,
    channel: *const swtls_channel,
    method: *const c_char,
    (request, request_len): (*const u8, usize),
    options: &dyn Fn() -> CallOptions,
    out_response: *mut *mut u8,
    out_response_len: *mut usize,
) -> Status {
    guard(name, || {
        let channel = arg_ref(channel, "channel")?;
        let method = arg_str(method, "method")?;
        let request = arg_bytes(request, request_len, "request")?;
        let out_response = arg_out(out_response, "out_response")?;
        let out_response_len = arg_out(out_response_len, "out_response_len")?;
        let options = options();
        let response = channel.inner.unary_blocking_with(method, Bytes::copy_from_slice(request), &options)?;
        to_c_bytes(&response, out_response, out_response_len);
        Ok(())
    })
}

/// The one stream opening behind `swtls_channel_stream_open` and `..._open_with`.
pub(super) unsafe fn stream_open(
    name: &str,
    channel: *const swtls_channel,
    method: *const c_char,
    options: &dyn Fn() -> CallOptions,
    out: *mut *mut swtls_stream,
) -> Status {
    guard(name, || {
        let channel = arg_ref(channel, "channel")?;
        let method = arg_str(method, "method")?;
        let out = arg_out(out, "out")?;
        let stream = channel.inner.open_stream_with(method, &options())?;
        out.write(to_handle(swtls_stream::new(stream)));
        Ok(())
    })
}

/// Builds a channel from a configuration: decides the TLS mode, reads and checks every
/// certificate and key file (errors name the file), and prepares the connections. It does
/// not connect; the first call does. On success `*out` receives a handle owned by the
/// caller, released with `swtls_channel_free`.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_new(config: *const swtls_config, out: *mut *mut swtls_channel) -> Status {
    guard("swtls_channel_new", || {
        let config = arg_ref(config, "config")?;
        let out = arg_out(out, "out")?;
        let inner = Channel::new(&config.snapshot())?;
        let reason = CString::new(inner.tls_reason().replace('\0', "?")).unwrap_or_default();
        out.write(to_handle(swtls_channel { inner, reason }));
        Ok(())
    })
}

/// Writes the TLS mode the channel uses to `*out_mode`.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_tls_mode(channel: *const swtls_channel, out_mode: *mut TlsMode) -> Status {
    guard("swtls_channel_tls_mode", || {
        let channel = arg_ref(channel, "channel")?;
        arg_out(out_mode, "out_mode")?.write(channel.inner.tls_mode());
        Ok(())
    })
}

/// Why the channel uses its TLS mode, in words (which files were found, what was missing).
/// The string belongs to the channel and lives as long as it. NULL when `channel` is NULL.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_tls_reason(channel: *const swtls_channel) -> *const c_char {
    guard_or(std::ptr::null(), || match channel.as_ref() {
        Some(c) => c.reason.as_ptr(),
        None => std::ptr::null(),
    })
}

/// Makes one unary call. `method` is a full gRPC path such as
/// `/skywalking.v3.ManagementService/keepAlive`; `request` holds the encoded protobuf
/// message (`request` may be NULL when `request_len` is 0). `timeout_ms` 0 means the
/// configured `collector.grpc_upstream_timeout`. Blocks the calling thread only.
///
/// On success `*out_response` and `*out_response_len` receive the response message in a
/// library-owned buffer that the caller releases with `swtls_bytes_free`. On failure the
/// status is the gRPC status the call ended with (1–16) or a swtls code (TLS, connection),
/// and the outputs are not written.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_unary(
    channel: *const swtls_channel,
    method: *const c_char,
    request: *const u8,
    request_len: usize,
    timeout_ms: u32,
    out_response: *mut *mut u8,
    out_response_len: *mut usize,
) -> Status {
    unary(
        "swtls_channel_unary",
        channel,
        method,
        (request, request_len),
        &|| CallOptions::with_timeout(timeout(timeout_ms)),
        out_response,
        out_response_len,
    )
}

/// Opens a client-streaming call on `method` (e.g.
/// `/skywalking.v3.TraceSegmentReportService/collect`). `timeout_ms` bounds the whole stream;
/// 0 means `collector.grpc_upstream_timeout`. On success `*out` receives a stream owned by
/// the caller: send with `swtls_stream_send`, end with `swtls_stream_finish`, then release
/// with `swtls_stream_free`.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_stream_open(
    channel: *const swtls_channel,
    method: *const c_char,
    timeout_ms: u32,
    out: *mut *mut swtls_stream,
) -> Status {
    stream_open("swtls_channel_stream_open", channel, method, &|| CallOptions::with_timeout(timeout(timeout_ms)), out)
}

/// Sends one message (the bytes are copied). Waits only while the stream's small buffer
/// is full. When the call already ended, returns how it ended; after `swtls_stream_finish`
/// returns `SWTLS_STATUS_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn swtls_stream_send(
    stream: *mut swtls_stream,
    message: *const u8,
    message_len: usize,
) -> Status {
    guard("swtls_stream_send", || {
        let stream = arg_ref(stream, "stream")?;
        let message = arg_bytes(message, message_len, "message")?;
        let mut s = stream.inner.lock().unwrap_or_else(|p| p.into_inner());
        s.send_blocking(message)
    })
}

/// Ends the stream and waits for the server's answer. On success the response message is
/// written to the outputs (release with `swtls_bytes_free`). A second finish returns
/// `SWTLS_STATUS_CLOSED`. The stream must still be released with `swtls_stream_free`.
#[no_mangle]
pub unsafe extern "C" fn swtls_stream_finish(
    stream: *mut swtls_stream,
    out_response: *mut *mut u8,
    out_response_len: *mut usize,
) -> Status {
    guard("swtls_stream_finish", || {
        let stream = arg_ref(stream, "stream")?;
        let out_response = arg_out(out_response, "out_response")?;
        let out_response_len = arg_out(out_response_len, "out_response_len")?;
        let mut s = stream.inner.lock().unwrap_or_else(|p| p.into_inner());
        let response = s.finish_blocking()?;
        to_c_bytes(&response, out_response, out_response_len);
        Ok(())
    })
}

/// Releases a stream; an unfinished stream is cancelled. `swtls_stream_free(NULL)` does
/// nothing.
#[no_mangle]
pub unsafe extern "C" fn swtls_stream_free(stream: *mut swtls_stream) {
    guard_or((), || free_handle(stream))
}

/// Releases a channel and closes its connections. `swtls_channel_free(NULL)` does nothing.
/// Reported messages still queued are dropped: call `swtls_channel_close` first to deliver
/// them (it waits up to its timeout). After `swtls_channel_close`, this only releases the
/// handle.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_free(channel: *mut swtls_channel) {
    guard_or((), || free_handle(channel))
}
