//! The JNI entry points of `org.apache.skywalking.swtls.ClientStream` (opened by `call`):
//! send, finish and free, and what a caller that must never block needs (cancel
//! from any thread, readiness).

use super::{arg_bytes, closed, entry, new_bytes, timeout};
use crate::error::Result;
use crate::stream::{ClientStream, StreamCanceller, StreamReadiness};
use ::jni::objects::{JByteArray, JClass};
use ::jni::sys::{jboolean, jbyteArray, jint, jlong, JNI_FALSE, JNI_TRUE};
use ::jni::JNIEnv;
use std::sync::Mutex;
use std::time::Duration;

/// What a stream handle points to: the stream behind a lock (send and finish are
/// serialized), and the handles that cancel it and tell its readiness without that lock
/// (a send may hold it while it waits for room).
pub(super) struct JStream {
    inner: Mutex<ClientStream>,
    canceller: StreamCanceller,
    readiness: StreamReadiness,
}

impl JStream {
    /// Boxes `stream` and returns the handle the Java object keeps.
    pub(super) fn into_handle(stream: ClientStream) -> jlong {
        let s = JStream { canceller: stream.canceller(), readiness: stream.readiness(), inner: Mutex::new(stream) };
        Box::into_raw(Box::new(s)) as jlong
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClientStream> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn stream<'a>(handle: jlong) -> Result<&'a JStream> {
    // SAFETY: a non-zero handle is a live `Box<JStream>` (the Java side never passes a freed one).
    unsafe { (handle as *const JStream).as_ref() }.ok_or_else(|| closed("stream"))
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_streamSend<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    message: JByteArray<'l>,
) {
    entry(&mut env, "ClientStream.send", (), |env| {
        let stream = stream(handle)?;
        let message = arg_bytes(env, &message, "message")?;
        stream.lock().send_blocking(message)
    })
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_streamFinish<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) -> jbyteArray {
    entry(&mut env, "ClientStream.finish", std::ptr::null_mut(), |env| {
        let response = stream(handle)?.lock().finish_blocking()?;
        new_bytes(env, &response)
    })
}

/// Cancels the stream; a send or finish blocked in another thread returns `CANCELLED`.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_streamCancel<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) {
    entry(&mut env, "ClientStream.cancel", (), |_| {
        stream(handle)?.canceller.cancel();
        Ok(())
    })
}

/// Whether a send would not wait now.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_streamIsReady<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) -> jboolean {
    entry(&mut env, "ClientStream.isReady", JNI_FALSE, |_| {
        Ok(if stream(handle)?.readiness.is_ready() { JNI_TRUE } else { JNI_FALSE })
    })
}

/// Waits up to `timeoutMillis` (0: only looks) until a send would not wait; returns the
/// `Readiness` number (0 ready, 1 still full, 2 takes no more messages).
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_streamAwaitReady<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    timeout_ms: jlong,
) -> jint {
    entry(&mut env, "ClientStream.awaitReady", -1, |_| {
        let wait = timeout(timeout_ms)?.unwrap_or(Duration::ZERO);
        Ok(stream(handle)?.readiness.ready_blocking(wait)? as jint)
    })
}

/// Frees a stream handle (an unfinished stream is cancelled); 0 is a no-op.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_streamFree<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) {
    entry(&mut env, "ClientStream.free", (), |_| {
        // SAFETY: the handle came from `JStream::into_handle` and the Java side frees it once.
        unsafe { super::free_boxed::<JStream>(handle) };
        Ok(())
    })
}
