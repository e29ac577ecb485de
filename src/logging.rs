//! Log routing: messages go to a host-supplied callback, or, without one, warnings and
//! errors go to stderr. Private keys and tokens are never part of a message.

use std::cell::Cell;
#[cfg(unix)]
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CString};
use std::sync::{Condvar, Mutex, RwLock};
#[cfg(unix)]
use std::sync::{MutexGuard, RwLockWriteGuard};

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
    /// The level of a number as the C API and the bindings pass it (1 = error … 4 = debug).
    pub fn from_number(n: i64) -> crate::error::Result<LogLevel> {
        match n {
            1 => Ok(LogLevel::Error),
            2 => Ok(LogLevel::Warn),
            3 => Ok(LogLevel::Info),
            4 => Ok(LogLevel::Debug),
            other => Err(crate::error::Error::new(
                crate::error::Status::InvalidParameter,
                format!("max_level {other} is not a log level (1 = error, 2 = warn, 3 = info, 4 = debug)"),
            )),
        }
    }

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
    /// Bumped each time the sink is replaced.
    epoch: u64,
}

static LOGGER: RwLock<Logger> = RwLock::new(Logger { sink: Sink::Stderr, max: LogLevel::Warn, epoch: 0 });

/// Calls of a sink in progress, by the sink's epoch; replacing a sink waits until its
/// calls have returned (so that a host may free `userdata`, or tear its runtime down,
/// right after replacing its callback).
static IN_FLIGHT: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());
static CALLS_DONE: Condvar = Condvar::new();

thread_local! {
    /// How many sink calls this thread is inside (a sink may itself replace the sink).
    static IN_SINK: Cell<u32> = const { Cell::new(0) };
    /// The logging locks, held by the forking thread from just before `fork()` until just
    /// after it (see [`before_fork`]).
    #[cfg(unix)]
    static HELD_FOR_FORK: RefCell<Option<ForkGuards>> = const { RefCell::new(None) };
}

#[cfg(unix)]
type ForkGuards = (RwLockWriteGuard<'static, Logger>, MutexGuard<'static, Vec<(u64, usize)>>);

/// `pthread_atfork` prepare handler: takes the logging locks so that no library thread
/// holds one at the moment of `fork()` (the child would inherit it locked, with no thread
/// left to release it). They are only ever held for a few instructions, never while a
/// host callback runs, so this waits for nothing that could wait for the forking thread.
#[cfg(unix)]
pub(crate) fn before_fork() {
    let logger = LOGGER.write().unwrap_or_else(|e| e.into_inner());
    let calls = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
    let _ = HELD_FOR_FORK.try_with(|h| *h.borrow_mut() = Some((logger, calls)));
}

/// `pthread_atfork` parent handler: releases what [`before_fork`] took.
#[cfg(unix)]
pub(crate) fn after_fork_in_parent() {
    let _ = HELD_FOR_FORK.try_with(|h| drop(h.borrow_mut().take()));
}

/// `pthread_atfork` child handler: the calls of the parent's threads that were in progress
/// do not exist in the child, so a replacement of the sink there must not wait for them.
#[cfg(unix)]
pub(crate) fn after_fork_in_child() {
    let _ = HELD_FOR_FORK.try_with(|h| {
        if let Some((logger, mut calls)) = h.borrow_mut().take() {
            calls.clear();
            drop(calls);
            drop(logger);
        }
    });
}

fn replace_sink(sink: Sink, max: LogLevel) {
    let old = {
        let mut l = LOGGER.write().unwrap_or_else(|e| e.into_inner());
        l.sink = sink;
        l.max = max;
        l.epoch += 1;
        l.epoch - 1
    };
    if IN_SINK.try_with(|c| c.get()).unwrap_or(0) > 0 {
        return; // called from a sink: it cannot wait for itself
    }
    let mut calls = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
    while calls.iter().any(|(epoch, n)| *epoch <= old && *n > 0) {
        calls = CALLS_DONE.wait(calls).unwrap_or_else(|e| e.into_inner());
    }
}

/// Routes messages up to `max` to a C callback; `None` restores the stderr default. When
/// this returns, the previous callback is not running on any thread (unless this is
/// called from that callback) and will not be called again.
pub fn set_c_callback(callback: Option<LogCallback>, userdata: *mut c_void, max: LogLevel) {
    let sink = match callback {
        Some(callback) => Sink::C { callback, userdata: userdata as usize },
        None => Sink::Stderr,
    };
    replace_sink(sink, max);
}

/// Routes messages up to `max` to a Rust closure (same guarantee as [`set_c_callback`]).
pub fn set_rust_sink(sink: RustSink, max: LogLevel) {
    replace_sink(Sink::Rust(sink), max);
}

/// Counts one call of the sink of `epoch` while it lives.
struct InFlight(u64);

impl InFlight {
    fn start(epoch: u64) -> InFlight {
        let mut calls = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
        match calls.iter_mut().find(|(e, _)| *e == epoch) {
            Some((_, n)) => *n += 1,
            None => calls.push((epoch, 1)),
        }
        let _ = IN_SINK.try_with(|c| c.set(c.get() + 1));
        InFlight(epoch)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let _ = IN_SINK.try_with(|c| c.set(c.get().saturating_sub(1)));
        let mut calls = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = calls.iter().position(|(e, _)| *e == self.0) {
            calls[i].1 -= 1;
            if calls[i].1 == 0 {
                calls.swap_remove(i);
            }
        }
        CALLS_DONE.notify_all();
    }
}

pub fn enabled(level: LogLevel) -> bool {
    level <= LOGGER.read().unwrap_or_else(|e| e.into_inner()).max
}

pub fn log(level: LogLevel, message: &str) {
    // Copy the sink out so that a callback may itself reconfigure logging.
    let (sink, _in_flight) = {
        let l = LOGGER.read().unwrap_or_else(|e| e.into_inner());
        if level > l.max {
            return;
        }
        // Counted before the lock is released: a replacement waits for this call.
        (l.sink.clone(), InFlight::start(l.epoch))
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
