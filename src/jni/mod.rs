//! The JNI entry points of the Java binding (`bindings/java`, class
//! `org.apache.skywalking.swtls.Native`), compiled in with the `jni` cargo feature.
//!
//! Like the C API in [`crate::ffi`], this layer only converts and delegates: Java strings,
//! byte arrays and `long` handles become Rust values, the core API does the work, and an
//! error becomes a `SwtlsException` built from it: the status code, its name and the
//! message. Every entry point runs inside the boundary the C API uses too
//! ([`crate::boundary::run`]), so no panic crosses into the JVM.
//!
//! Handles: a channel is a `Box<Channel>`, a stream a `Box<JStream>` (`stream`) and a
//! cancellation flag a `Box<CancelToken>` (`call`), whose address the Java object keeps
//! in a `long`. The Java side serializes `*Free` against every other call on the same
//! handle (a read/write lock), so a handle is never used after it was freed; a zero
//! handle is refused with `CLOSED`.
//!
//! One file per concept: this one has the helpers, the channel and the configuration;
//! `stream` the client streams; `call` the per-call options (metadata, cancellation), the
//! calls (a unary call, opening a stream: the plain forms delegate to those with options),
//! and the channel's connectivity.

mod call;
mod stream;

use crate::boundary;
use crate::channel::Channel;
use crate::config::Config;
use crate::error::{Error, Result, Status};
use crate::logging::{self, LogLevel};
use crate::stats::with_counters;
use ::jni::objects::{GlobalRef, JByteArray, JClass, JObject, JObjectArray, JString, JThrowable, JValue};
use ::jni::sys::{jbyteArray, jint, jlong, jobject, jobjectArray, jstring};
use ::jni::{JNIEnv, JavaVM};
use std::ffi::CStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EXCEPTION_CLASS: &str = "org/apache/skywalking/swtls/SwtlsException";
const STATS_CLASS: &str = "org/apache/skywalking/swtls/Stats";

/// Runs one entry point inside the boundary ([`crate::boundary::run`]): on an error (or a
/// panic) throws a `SwtlsException` built from it, unless a Java exception is already
/// pending, and returns `fallback`.
fn entry<'l, T>(env: &mut JNIEnv<'l>, name: &str, fallback: T, f: impl FnOnce(&mut JNIEnv<'l>) -> Result<T>) -> T {
    boundary::run(name, env, f, |env, e| throw(env, e.status, &e.message)).unwrap_or(fallback)
}

fn throw(env: &mut JNIEnv, status: Status, message: &str) {
    if env.exception_check().unwrap_or(true) {
        return; // a Java exception (e.g. OutOfMemoryError) is already on its way
    }
    // A NUL in the message (say, from a method name) shows as '?', as in the C API's
    // swtls_last_error.
    let message = &message.replace('\0', "?");
    let exception = (|| -> ::jni::errors::Result<JObject> {
        let name = env.new_string(status.name())?;
        let text = env.new_string(message)?;
        env.new_object(
            EXCEPTION_CLASS,
            "(ILjava/lang/String;Ljava/lang/String;)V",
            &[JValue::Int(status as jint), JValue::Object(&name), JValue::Object(&text)],
        )
    })();
    match exception {
        Ok(e) => {
            let _ = env.throw(JThrowable::from(e));
        }
        Err(_) if env.exception_check().unwrap_or(true) => {}
        Err(_) => {
            let _ = env.throw_new("java/lang/IllegalStateException", format!("{}: {message}", status.name()));
        }
    }
}

/// A JNI failure while converting an argument or a result.
fn jni_error(what: &str, e: ::jni::errors::Error) -> Error {
    Error::new(Status::Internal, format!("{what}: JNI call failed: {e}"))
}

fn null(name: &str) -> Error {
    Error::new(Status::NullArgument, format!("argument '{name}' must not be null"))
}

fn arg_string(env: &mut JNIEnv, s: &JString, name: &str) -> Result<String> {
    if s.is_null() {
        return Err(null(name));
    }
    // SAFETY: the Java signature of every native method declares `s` as a java.lang.String.
    let java = unsafe { env.get_string_unchecked(s) }.map_err(|e| jni_error(name, e))?;
    Ok(String::from(java))
}

/// Runs `f` on a short string argument without allocating (the hot path of `report`):
/// copied with `GetStringUTFRegion` into a stack buffer. Modified UTF-8 equals UTF-8 but
/// for NUL and characters outside the BMP; strings with those, or long ones, take the
/// general path.
fn with_str<'l, R>(
    env: &mut JNIEnv<'l>,
    s: &JString,
    name: &str,
    f: impl FnOnce(&mut JNIEnv<'l>, &str) -> Result<R>,
) -> Result<R> {
    const MAX: usize = 256;
    if s.is_null() {
        return Err(null(name));
    }
    let raw = env.get_raw();
    // SAFETY: `raw` is this thread's JNIEnv and `s` a live, non-null java.lang.String
    // reference; the region is the whole string, so no exception can be raised, and the
    // buffer has room for its modified UTF-8 bytes and the terminating NUL HotSpot writes.
    unsafe {
        let fns = &**raw;
        if let (Some(length), Some(utf_length), Some(region)) =
            (fns.GetStringLength, fns.GetStringUTFLength, fns.GetStringUTFRegion)
        {
            let chars = length(raw, s.as_raw());
            let bytes = utf_length(raw, s.as_raw());
            if chars >= 0 && bytes >= 0 && (bytes as usize) < MAX {
                let mut buf = [0u8; MAX];
                region(raw, s.as_raw(), 0, chars, buf.as_mut_ptr().cast());
                if let Ok(text) = std::str::from_utf8(&buf[..bytes as usize]) {
                    return f(env, text);
                }
            }
        }
    }
    let owned = arg_string(env, s, name)?;
    f(env, &owned)
}

/// Runs `f` on a byte array argument, copied into a buffer kept per thread (no allocation
/// once it is large enough). A call made from inside `f` on the same thread gets a buffer
/// of its own.
fn with_bytes<R>(env: &mut JNIEnv, b: &JByteArray, name: &str, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    if b.is_null() {
        return Err(null(name));
    }
    let len = env.get_array_length(b).map_err(|e| jni_error(name, e))? as usize;
    // A fresh buffer when the thread's storage is already destroyed (the thread is exiting).
    let mut buf = BUFFER.try_with(|c| c.take()).unwrap_or_default();
    buf.clear();
    buf.resize(len, 0);
    // SAFETY: u8 and i8 have the same layout.
    let region = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<i8>(), len) };
    let result = match env.get_byte_array_region(b, 0, region) {
        Ok(()) => f(&buf),
        Err(e) => Err(jni_error(name, e)),
    };
    if buf.capacity() <= 1 << 20 {
        // Keep it for the next call, unless it is unusually large or the storage is gone.
        let _ = BUFFER.try_with(|c| c.set(buf));
    }
    result
}

fn arg_bytes(env: &mut JNIEnv, b: &JByteArray, name: &str) -> Result<Vec<u8>> {
    if b.is_null() {
        return Err(null(name));
    }
    env.convert_byte_array(b).map_err(|e| jni_error(name, e))
}

fn arg_strings(env: &mut JNIEnv, a: &JObjectArray, name: &str) -> Result<Vec<String>> {
    if a.is_null() {
        return Err(null(name));
    }
    let n = env.get_array_length(a).map_err(|e| jni_error(name, e))?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let element = JString::from(env.get_object_array_element(a, i).map_err(|e| jni_error(name, e))?);
        let value = arg_string(env, &element, &format!("{name}[{i}]"))?;
        let _ = env.delete_local_ref(element);
        out.push(value);
    }
    Ok(out)
}

/// Milliseconds from Java: 0 means the configured default.
fn timeout(ms: jlong) -> Result<Option<Duration>> {
    match ms {
        0 => Ok(None),
        ms if ms > 0 => Ok(Some(Duration::from_millis(ms as u64))),
        ms => Err(Error::new(
            Status::InvalidParameter,
            format!("timeoutMillis {ms} is negative (0 means collector.grpc_upstream_timeout)"),
        )),
    }
}

fn closed(what: &str) -> Error {
    Error::new(Status::Closed, format!("the {what} is closed (close() was called)"))
}

fn channel<'a>(handle: jlong) -> Result<&'a Channel> {
    // SAFETY: a non-zero handle is a live `Box<Channel>` (the Java side never passes a freed one).
    unsafe { (handle as *const Channel).as_ref() }.ok_or_else(|| closed("channel"))
}

/// Drops the boxed `T` behind a handle the Java side frees once; 0 is a no-op.
///
/// # Safety
/// `handle` is 0 or came from `Box::into_raw` of a `Box<T>` and is not used again.
unsafe fn free_boxed<T>(handle: jlong) {
    if handle != 0 {
        drop(Box::from_raw(handle as *mut T));
    }
}

fn new_bytes(env: &mut JNIEnv, data: &[u8]) -> Result<jbyteArray> {
    Ok(env.byte_array_from_slice(data).map_err(|e| jni_error("response", e))?.into_raw())
}

fn new_string(env: &mut JNIEnv, s: &str) -> Result<jstring> {
    Ok(env.new_string(s).map_err(|e| jni_error("string result", e))?.into_raw())
}

/// Applies the entries of a Java `Config` in order: triples of kind (`"set"` or `"env"`),
/// name and value. An `"env"` entry is one environment variable captured by
/// `configLoadEnv`, applied through [`Config::load_env_with`] so that errors name it.
fn build_config(entries: &[String]) -> Result<Config> {
    let mut config = Config::default();
    for e in entries.chunks(3) {
        match e {
            [kind, key, value] if kind == "set" => config.set(key, value)?,
            [kind, var, value] if kind == "env" => {
                config.load_env_with(|name| (name == var).then(|| value.into()))?;
            }
            _ => return Err(Error::new(Status::InvalidParameter, "malformed configuration entries")),
        }
    }
    Ok(config)
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_version<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
) -> jstring {
    entry(&mut env, "Native.version", std::ptr::null_mut(), |env| {
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(crate::ffi::swtls_version()) }.to_string_lossy().into_owned();
        new_string(env, &v)
    })
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_statusName<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    status: jint,
) -> jstring {
    entry(&mut env, "Native.statusName", std::ptr::null_mut(), |env| {
        let name = u32::try_from(status).ok().and_then(Status::from_code).map_or("UNRECOGNIZED", Status::name);
        new_string(env, name)
    })
}

/// Checks one `Config.set(key, value)` (a key's value parses the same whatever the others).
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_configCheck<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    key: JString<'l>,
    value: JString<'l>,
) {
    entry(&mut env, "Config.set", (), |env| {
        let key = arg_string(env, &key, "key")?;
        let value = arg_string(env, &value, "value")?;
        Config::default().set(&key, &value)
    })
}

/// `Config.loadEnv()`: reads the configuration's environment variables now, checks them,
/// and returns the ones that are set as `[name, value, name, value, ...]`.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_configLoadEnv<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
) -> jobjectArray {
    entry(&mut env, "Config.loadEnv", std::ptr::null_mut(), |env| {
        let seen = Mutex::new(Vec::new());
        Config::default().load_env_with(|name| {
            let value = std::env::var_os(name);
            if let Some(v) = &value {
                seen.lock().unwrap_or_else(|p| p.into_inner()).push((name.to_string(), v.clone()));
            }
            value
        })?;
        let seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
        let string_class = env.find_class("java/lang/String").map_err(|e| jni_error("loadEnv", e))?;
        let out = env
            .new_object_array(2 * seen.len() as i32, string_class, JObject::null())
            .map_err(|e| jni_error("loadEnv", e))?;
        for (i, (name, value)) in seen.iter().enumerate() {
            // load_env_with succeeded, so every value is UTF-8.
            for (j, s) in [name.as_str(), &value.to_string_lossy()].into_iter().enumerate() {
                let js = env.new_string(s).map_err(|e| jni_error("loadEnv", e))?;
                env.set_object_array_element(&out, (2 * i + j) as i32, &js).map_err(|e| jni_error("loadEnv", e))?;
                let _ = env.delete_local_ref(js);
            }
        }
        Ok(out.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelNew<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    entries: JObjectArray<'l>,
) -> jlong {
    entry(&mut env, "Channel.new", 0, |env| {
        let entries = arg_strings(env, &entries, "config")?;
        let channel = Channel::new(&build_config(&entries)?)?;
        Ok(Box::into_raw(Box::new(channel)) as jlong)
    })
}

/// Frees a channel handle; 0 is a no-op. Messages still queued are dropped: the Java side
/// calls `channelClose` first.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelFree<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) {
    entry(&mut env, "Channel.free", (), |_| {
        // SAFETY: the handle came from `channelNew` and the Java side frees it once.
        unsafe { free_boxed::<Channel>(handle) };
        Ok(())
    })
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelTlsMode<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) -> jint {
    entry(&mut env, "Channel.tlsMode", -1, |_| Ok(channel(handle)?.tls_mode() as jint))
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelTlsReason<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) -> jstring {
    entry(&mut env, "Channel.tlsReason", std::ptr::null_mut(), |env| {
        let reason = channel(handle)?.tls_reason().to_string();
        new_string(env, &reason)
    })
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelReport<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    method: JString<'l>,
    message: JByteArray<'l>,
) {
    entry(&mut env, "Channel.report", (), |env| {
        let channel = channel(handle)?;
        with_str(env, &method, "method", |env, method| {
            with_bytes(env, &message, "message", |message| channel.report(method, message))
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelFlush<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    timeout_ms: jlong,
) {
    entry(&mut env, "Channel.flush", (), |_| channel(handle)?.flush_blocking(timeout(timeout_ms)?))
}

/// Closes the channel in the core (flush, then stop); the handle stays valid until
/// `channelFree`.
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelClose<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
    timeout_ms: jlong,
) {
    entry(&mut env, "Channel.close", (), |_| channel(handle)?.close_blocking(timeout(timeout_ms)?))
}

/// The counters as a `Stats` object, named: `Stats(String[] names, long[] values, String
/// backend)` takes each value by its name, the C header's (`swtls_stats` fields).
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_channelStats<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    handle: jlong,
) -> jobject {
    entry(&mut env, "Channel.stats", std::ptr::null_mut(), |env| {
        let s = channel(handle)?.stats();
        macro_rules! named {
            ($($counter:ident),*) => {
                [
                    $((stringify!($counter), s.$counter),)*
                    ("backend_index", s.backend_index as u64),
                    ("tls_mode", s.tls_mode as u64),
                ]
            };
        }
        let counters = with_counters!(named);
        let values = counters.map(|(_, v)| v.min(i64::MAX as u64) as i64);
        let stats = (|| -> ::jni::errors::Result<JObject> {
            let names = env.new_object_array(counters.len() as i32, "java/lang/String", JObject::null())?;
            for (i, (name, _)) in counters.iter().enumerate() {
                let name = env.new_string(name)?;
                env.set_object_array_element(&names, i as i32, &name)?;
                env.delete_local_ref(name)?;
            }
            let array = env.new_long_array(values.len() as i32)?;
            env.set_long_array_region(&array, 0, &values)?;
            let backend = env.new_string(s.backend.to_string())?;
            env.new_object(
                STATS_CLASS,
                "([Ljava/lang/String;[JLjava/lang/String;)V",
                &[JValue::Object(&names), JValue::Object(&array), JValue::Object(&backend)],
            )
        })()
        .map_err(|e| jni_error("stats", e))?;
        Ok(stats.into_raw())
    })
}

/// The Java log sink: `sink.log(int level, String message)` is called for each message up
/// to `max_level` (1 error ... 4 debug), from any thread (library threads are attached to
/// the JVM as daemon threads). A null sink restores the default (warnings and errors on
/// stderr).
#[no_mangle]
pub extern "system" fn Java_org_apache_skywalking_swtls_Native_setLogSink<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    sink: JObject<'l>,
    max_level: jint,
) {
    entry(&mut env, "Swtls.setLogListener", (), |env| {
        let max = LogLevel::from_number(max_level as i64)?;
        if sink.is_null() {
            logging::set_c_callback(None, std::ptr::null_mut(), LogLevel::Warn);
            return Ok(());
        }
        let vm = env.get_java_vm().map_err(|e| jni_error("setLogListener", e))?;
        let sink = env.new_global_ref(&sink).map_err(|e| jni_error("setLogListener", e))?;
        logging::set_rust_sink(Arc::new(move |level, message| deliver(&vm, &sink, level, message)), max);
        Ok(())
    })
}

fn deliver(vm: &JavaVM, sink: &GlobalRef, level: LogLevel, message: &str) {
    let Ok(mut env) = vm.attach_current_thread_as_daemon() else { return };
    if env.exception_check().unwrap_or(true) {
        return; // no Java call is allowed while an exception is pending on this thread
    }
    let _ = env.with_local_frame(4, |env| -> ::jni::errors::Result<()> {
        let text = env.new_string(message)?;
        let r = env.call_method(
            sink,
            "log",
            "(ILjava/lang/String;)V",
            &[JValue::Int(level as jint), JValue::Object(&text)],
        );
        if env.exception_check().unwrap_or(false) {
            // The Java side catches the listener's exceptions; this is a last resort.
            let _ = env.exception_clear();
        }
        r.map(|_| ())
    });
}
