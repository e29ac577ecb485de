//! `swtls_call_options` and `swtls_cancel`: what the standard gRPC channel interfaces of the
//! bindings need from a call beyond its bytes (request metadata, cancellation), the calls
//! that take them, a stream's cancellation and a channel's connectivity.

use super::channel::{stream_open, swtls_channel, swtls_stream, timeout, unary};
use super::{arg_bytes, arg_out, arg_ref, arg_str, free_handle, guard, guard_or, to_handle};
use crate::call::{CallOptions, CancelToken, Connectivity};
use crate::error::Status;
use std::ffi::c_char;
use std::sync::Mutex;

/// Options for one call: request metadata sent in addition to the configured token, and
/// an optional cancellation token. Built once, usable for any number of calls.
///
/// Thread safety: a `swtls_call_options` may be used from several threads; changes are
/// serialized internally, and a call takes a copy of the options when it starts.
pub struct swtls_call_options {
    inner: Mutex<CallOptions>,
}

/// A cancellation flag. Raising it (`swtls_cancel_cancel`) ends every call it was given to
/// (through `swtls_call_options_set_cancel`) with `SWTLS_STATUS_CANCELLED`; the server sees
/// the call reset. Once raised it stays raised: use a new one for new calls.
///
/// Thread safety: a `swtls_cancel` may be raised from any thread, also while other
/// threads are blocked in the calls it cancels; it must outlive no call (the options and
/// calls hold their own reference).
pub struct swtls_cancel {
    inner: CancelToken,
}

/// Creates empty call options (no metadata, no cancellation). On success `*out` receives a
/// handle owned by the caller, released with `swtls_call_options_free`.
#[no_mangle]
pub unsafe extern "C" fn swtls_call_options_new(out: *mut *mut swtls_call_options) -> Status {
    guard("swtls_call_options_new", || {
        arg_out(out, "out")?.write(to_handle(swtls_call_options { inner: Mutex::new(CallOptions::default()) }));
        Ok(())
    })
}

/// Adds one request metadata entry (a key may be added several times). Keys have only
/// lowercase letters, digits, `-`, `_` and `.`; a key ending in `-bin` takes any bytes,
/// others printable ASCII. `grpc-*` and the headers gRPC itself sends are refused with
/// `SWTLS_STATUS_INVALID_ARGUMENT`, naming the key. The key and value are copied.
#[no_mangle]
pub unsafe extern "C" fn swtls_call_options_add_metadata(
    options: *const swtls_call_options,
    key: *const c_char,
    value: *const u8,
    value_len: usize,
) -> Status {
    guard("swtls_call_options_add_metadata", || {
        let options = arg_ref(options, "options")?;
        let key = arg_str(key, "key")?;
        let value = arg_bytes(value, value_len, "value")?;
        options.inner.lock().unwrap_or_else(|p| p.into_inner()).metadata.add(key, value)
    })
}

/// Makes calls with these options cancellable with `cancel` (which may be freed after:
/// the options keep their own reference). NULL removes the cancellation.
#[no_mangle]
pub unsafe extern "C" fn swtls_call_options_set_cancel(
    options: *const swtls_call_options,
    cancel: *const swtls_cancel,
) -> Status {
    guard("swtls_call_options_set_cancel", || {
        let options = arg_ref(options, "options")?;
        let cancel = cancel.as_ref().map(|c| c.inner.clone());
        options.inner.lock().unwrap_or_else(|p| p.into_inner()).cancel = cancel;
        Ok(())
    })
}

/// Releases call options. `swtls_call_options_free(NULL)` does nothing.
#[no_mangle]
pub unsafe extern "C" fn swtls_call_options_free(options: *mut swtls_call_options) {
    guard_or((), || free_handle(options))
}

/// Creates a cancellation flag, not raised. On success `*out` receives a handle owned by
/// the caller, released with `swtls_cancel_free`.
#[no_mangle]
pub unsafe extern "C" fn swtls_cancel_new(out: *mut *mut swtls_cancel) -> Status {
    guard("swtls_cancel_new", || {
        arg_out(out, "out")?.write(to_handle(swtls_cancel { inner: CancelToken::new() }));
        Ok(())
    })
}

/// Raises the flag: the calls it was given to end with `SWTLS_STATUS_CANCELLED`, also those
/// blocked in another thread right now. Idempotent.
#[no_mangle]
pub unsafe extern "C" fn swtls_cancel_cancel(cancel: *const swtls_cancel) -> Status {
    guard("swtls_cancel_cancel", || {
        arg_ref(cancel, "cancel")?.inner.cancel();
        Ok(())
    })
}

/// Releases a cancellation flag (calls that hold it keep their own reference).
/// `swtls_cancel_free(NULL)` does nothing.
#[no_mangle]
pub unsafe extern "C" fn swtls_cancel_free(cancel: *mut swtls_cancel) {
    guard_or((), || free_handle(cancel))
}

fn options_of(options: *const swtls_call_options, timeout_ms: u32) -> CallOptions {
    let mut o = match unsafe { options.as_ref() } {
        Some(o) => o.inner.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        None => CallOptions::default(),
    };
    o.timeout = timeout(timeout_ms);
    o
}

/// `swtls_channel_unary` with call options (`options` may be NULL: none). The metadata is
/// sent in addition to the configured token; raising the options' cancellation flag ends
/// the call with `SWTLS_STATUS_CANCELLED`.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_unary_with(
    channel: *const swtls_channel,
    method: *const c_char,
    request: *const u8,
    request_len: usize,
    timeout_ms: u32,
    options: *const swtls_call_options,
    out_response: *mut *mut u8,
    out_response_len: *mut usize,
) -> Status {
    unary(
        "swtls_channel_unary_with",
        channel,
        method,
        (request, request_len),
        &|| options_of(options, timeout_ms),
        out_response,
        out_response_len,
    )
}

/// `swtls_channel_stream_open` with call options (`options` may be NULL: none).
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_stream_open_with(
    channel: *const swtls_channel,
    method: *const c_char,
    timeout_ms: u32,
    options: *const swtls_call_options,
    out: *mut *mut swtls_stream,
) -> Status {
    stream_open("swtls_channel_stream_open_with", channel, method, &|| options_of(options, timeout_ms), out)
}

/// Cancels a stream from any thread, also while another thread is blocked in
/// `swtls_stream_send` or `swtls_stream_finish` (which then return
/// `SWTLS_STATUS_CANCELLED`); the server sees the call reset. The stream must still be
/// released with `swtls_stream_free`. Idempotent.
#[no_mangle]
pub unsafe extern "C" fn swtls_stream_cancel(stream: *const swtls_stream) -> Status {
    guard("swtls_stream_cancel", || {
        arg_ref(stream, "stream")?.canceller.cancel();
        Ok(())
    })
}

/// Writes to `*out_ready` whether `swtls_stream_send` would return without waiting now
/// (the stream's buffer has room). Flow control for callers that must not block.
#[no_mangle]
pub unsafe extern "C" fn swtls_stream_is_ready(stream: *const swtls_stream, out_ready: *mut bool) -> Status {
    guard("swtls_stream_is_ready", || {
        let stream = arg_ref(stream, "stream")?;
        let out = arg_out(out_ready, "out_ready")?;
        let ready = stream.inner.try_lock().map(|s| s.is_ready()).unwrap_or(false);
        out.write(ready);
        Ok(())
    })
}

/// Writes the channel's connectivity to `*out_state`: IDLE before the first connection,
/// CONNECTING while one is being made, READY while connected to the current backend,
/// TRANSIENT_FAILURE after its last attempt failed, SHUTDOWN once closed. With
/// `try_to_connect`, an idle channel, or one whose last attempt failed (then at most once a
/// second), starts connecting in the background: calling it now and then is how a caller
/// learns that a backend is back without sending a call into it.
#[no_mangle]
pub unsafe extern "C" fn swtls_channel_connectivity(
    channel: *const swtls_channel,
    try_to_connect: bool,
    out_state: *mut Connectivity,
) -> Status {
    guard("swtls_channel_connectivity", || {
        let channel = arg_ref(channel, "channel")?;
        arg_out(out_state, "out_state")?.write(channel.inner.connectivity(try_to_connect));
        Ok(())
    })
}
