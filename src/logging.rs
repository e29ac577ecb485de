//! Log routing: messages go to a host-supplied callback, or, without one, warnings and
//! errors go to stderr. Private keys and tokens are never part of a message.

use std::ffi::{c_char, c_void, CString};
use std::sync::RwLock;

/// Severity of a log message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

impl LogLevel {
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        }
    }
}

/// A log callback: `(userdata, level, message, message_len)`. The message is UTF-8,
/// NUL-terminated, and valid only during the call.
pub type LogCallback = unsafe extern "C" fn(userdata: *mut c_void, level: LogLevel, message: *const c_char, len: usize);

/// A sink in Rust terms, so Rust users and tests can capture messages too.
pub type RustSink = std::sync::Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

#[derive(Clone)]
enum Sink {
    Stderr,
    C { callback: LogCallback, userdata: usize },
    Rust(RustSink),
}

struct Logger {
    sink: Sink,
    max: LogLevel,
}

static LOGGER: RwLock<Logger> = RwLock::new(Logger { sink: Sink::Stderr, max: LogLevel::Warn });

/// Routes messages up to `max` to a C callback; `None` restores the stderr default.
pub fn set_c_callback(callback: Option<LogCallback>, userdata: *mut c_void, max: LogLevel) {
    let mut l = LOGGER.write().unwrap_or_else(|e| e.into_inner());
    l.sink = match callback {
        Some(callback) => Sink::C { callback, userdata: userdata as usize },
        None => Sink::Stderr,
    };
    l.max = max;
}

/// Routes messages up to `max` to a Rust closure.
pub fn set_rust_sink(sink: RustSink, max: LogLevel) {
    let mut l = LOGGER.write().unwrap_or_else(|e| e.into_inner());
    l.sink = Sink::Rust(sink);
    l.max = max;
}

pub fn enabled(level: LogLevel) -> bool {
    level <= LOGGER.read().unwrap_or_else(|e| e.into_inner()).max
}

pub fn log(level: LogLevel, message: &str) {
    // Copy the sink out so that a callback may itself reconfigure logging.
    let sink = {
        let l = LOGGER.read().unwrap_or_else(|e| e.into_inner());
        if level > l.max {
            return;
        }
        l.sink.clone()
    };
    match &sink {
        Sink::Stderr => eprintln!("swtls {}: {}", level.name(), message),
        Sink::C { callback, userdata } => {
            // A panic or unwinding from the host's callback must not cross back; the callback
            // is extern "C", so it cannot unwind into Rust.
            let c = CString::new(message.replace('\0', "?")).unwrap_or_default();
            unsafe { (*callback)(*userdata as *mut c_void, level, c.as_ptr(), c.as_bytes().len()) }
        }
        Sink::Rust(f) => f(level, message),
    }
}

macro_rules! log_at {
    ($level:expr, $($arg:tt)*) => {
        if $crate::logging::enabled($level) {
            $crate::logging::log($level, &format!($($arg)*))
        }
    };
}
macro_rules! warn { ($($arg:tt)*) => { log_at!($crate::logging::LogLevel::Warn, $($arg)*) }; }
macro_rules! info { ($($arg:tt)*) => { log_at!($crate::logging::LogLevel::Info, $($arg)*) }; }
macro_rules! debug { ($($arg:tt)*) => { log_at!($crate::logging::LogLevel::Debug, $($arg)*) }; }

/// Rate limit for repeated log messages: `allow` says whether a message with this key may
/// be logged now (a different key than the last one, or the same after `every`).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: std::sync::Mutex<Option<(String, std::time::Instant)>>,
}

impl Throttle {
    pub(crate) fn allow(&self, key: &str, every: std::time::Duration) -> bool {
        let now = std::time::Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((k, at)) if k == key && now.duration_since(*at) < every => false,
            _ => {
                *last = Some((key.to_string(), now));
                true
            }
        }
    }
}
