//! The JNI entry points for per-call options (`org.apache.skywalking.swtls.CallOptions`
//! and `Cancellation`), the calls (unary, opening a stream; the plain forms delegate to
//! those with options), and the channel's connectivity. What grpc-java's `Channel`
//! interface needs from a call.

use super::stream::JStream;
use super::{arg_bytes, arg_string, channel, closed, entry, jni_error, new_bytes, null, timeout};
use crate::call::{CallOptions, CancelToken, Metadata};
use crate::error::{Error, Result, Status};
use ::jni::objects::{JByteArray, JClass, JObjectArray, JString};
use ::jni::sys::{jboolean, jbyteArray, jint, jlong};
use ::jni::JNIEnv;
use bytes::Bytes;

fn cancel_token<'a>(handle: jlong) -> Result<&'a CancelToken> {
    // SAFETY: a non-zero handle is a live `Box<CancelToken>` (the Java side never passes a freed one).
    unsafe { (handle as *const CancelToken).as_ref() }.ok_or_else(|| closed("cancellation"))
}

/// The options of one call: `timeout_ms` (0: the configured default), metadata as two
/// arrays of the same length (keys, and values as byte arrays; ASCII values for keys not
/// ending in `-bin`), and a cancellation handle (0: none).
fn options(
    env: &mut JNIEnv,
    timeout_ms: jlong,
    keys: &JObjectArray,
    values: &JObjectArray,
    cancel: jlong,
) -> Result<CallOptions> {
    let mut metadata = Metadata::new();
    if !keys.is_null() || !values.is_null() {
        if keys.is_null() {
            return Err(null("metadataKeys"));
        }
        if values.is_null() {
            return Err(null("metadataValues"));
        }
        let n = env.get_array_length(keys).map_err(|e| jni_error("metadataKeys", e))?;
        let m = env.get_array_length(values).map_err(|e| jni_error("metadataValues", e))?;
        if n != m {
            return Err(Error::new(
                Status::InvalidParameter,
                format!("{n} metadata keys but {m} values: the two arrays must have the same length"),
            ));
        }
        for i in 0..n {
            let key = JString::from(env.get_object_array_element(keys, i).map_err(|e| jni_error("metadataKeys", e))?);
            let value =
                JByteArray::from(env.get_object_array_element(values, i).map_err(|e| jni_error("metadataValues", e))?);
            let k = arg_string(env, &key, &format!("metadataKeys[{i}]"))?;
            let v = arg_bytes(env, &value, &format!("metadataValues[{i}]"))?;
            let _ = env.delete_local_ref(key);
            let _ = env.delete_local_ref(value);
            metadata.add(&k, &v)?;
        }
    }
    let cancel = match cancel {
        0 => None,
        h => Some(cancel_token(h)?.clone()),
    };
    Ok(CallOptions { timeout: timeout(timeout_ms)?, metadata, cancel })
}

/// A new cancellation flag, not raised.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_cancelNew<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
) -> jlong {
    entry(&mut env, "Cancellation.new", 0, |_| Ok(Box::into_raw(Box::new(CancelToken::new())) as jlong))
}

/// Raises the flag: the calls it was given to end with `CANCELLED`. Idempotent.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_cancelCancel<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) {
    entry(&mut env, "Cancellation.cancel", (), |_| {
        cancel_token(handle)?.cancel();
        Ok(())
    })
}

/// Frees a cancellation handle (calls that were given it keep their own reference); 0 is a no-op.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_cancelFree<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) {
    entry(&mut env, "Cancellation.free", (), |_| {
        // SAFETY: the handle came from `cancelNew` and the Java side frees it once.
        unsafe { super::free_boxed::<CancelToken>(handle) };
        Ok(())
    })
}

/// One unary call: `channelUnaryWith` without metadata or cancellation.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelUnary<'l>(
    env: JNIEnv<'l>,
    class: JClass<'l>,
    handle: jlong,
    method: JString<'l>,
    request: JByteArray<'l>,
    timeout_ms: jlong,
) -> jbyteArray {
    let none = JObjectArray::default;
    Java_org_apache_skywalking_swtls_Native_channelUnaryWith(
        env,
        class,
        handle,
        method,
        request,
        timeout_ms,
        none(),
        none(),
        0,
    )
}

/// Opens a client stream on a channel, the stream's handle: `channelOpenStreamWith` without
/// metadata or cancellation.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelOpenStream<'l>(
    env: JNIEnv<'l>,
    class: JClass<'l>,
    handle: jlong,
    method: JString<'l>,
    timeout_ms: jlong,
) -> jlong {
    let none = JObjectArray::default;
    Java_org_apache_skywalking_swtls_Native_channelOpenStreamWith(
        env,
        class,
        handle,
        method,
        timeout_ms,
        none(),
        none(),
        0,
    )
}

/// A unary call with request metadata and a cancellation flag.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelUnaryWith<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    method: JString<'l>,
    request: JByteArray<'l>,
    timeout_ms: jlong,
    metadata_keys: JObjectArray<'l>,
    metadata_values: JObjectArray<'l>,
    cancel: jlong,
) -> jbyteArray {
    entry(&mut env, "Channel.unary", std::ptr::null_mut(), |env| {
        let channel = channel(handle)?;
        let method = arg_string(env, &method, "method")?;
        let request = arg_bytes(env, &request, "request")?;
        let options = options(env, timeout_ms, &metadata_keys, &metadata_values, cancel)?;
        let response = channel.unary_blocking_with(&method, Bytes::from(request), &options)?;
        new_bytes(env, &response)
    })
}

/// Opens a client stream with request metadata and a cancellation flag; the stream's handle.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelOpenStreamWith<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    method: JString<'l>,
    timeout_ms: jlong,
    metadata_keys: JObjectArray<'l>,
    metadata_values: JObjectArray<'l>,
    cancel: jlong,
) -> jlong {
    entry(&mut env, "Channel.openStream", 0, |env| {
        let channel = channel(handle)?;
        let method = arg_string(env, &method, "method")?;
        let options = options(env, timeout_ms, &metadata_keys, &metadata_values, cancel)?;
        Ok(JStream::into_handle(channel.open_stream_with(&method, &options)?))
    })
}

/// The channel's connectivity as gRPC numbers it (0 IDLE ... 4 SHUTDOWN); with
/// `tryToConnect`, an idle or failed channel starts connecting.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelConnectivity<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    try_to_connect: jboolean,
) -> jint {
    entry(&mut env, "Channel.connectivity", -1, |_| Ok(channel(handle)?.connectivity(try_to_connect != 0) as jint))
}
