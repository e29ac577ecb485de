//! Version, status names, the last error, logging and response buffers.

use super::{guard, guard_or, last_error_ptr};
use crate::error::Status;
use crate::logging::{self, LogLevel};
use std::ffi::{c_char, c_void};

#[cfg(feature = "ring")]
macro_rules! provider_name {
    () => {
        "ring"
    };
}
#[cfg(not(feature = "ring"))]
macro_rules! provider_name {
    () => {
        "aws-lc-rs"
    };
}

static VERSION: &str =
    concat!("swtls/", env!("CARGO_PKG_VERSION"), " rustls/", env!("SWTLS_RUSTLS_VERSION"), " ", provider_name!(), "\0");

/// The library and rustls versions, e.g. `"swtls/0.1.0 rustls/0.23.46 ring"`.
///
/// The string is static: never free it.
#[no_mangle]
pub extern "C" fn swtls_version() -> *const c_char {
    VERSION.as_ptr() as *const c_char
}

/// Major version of the library this header belongs to (the 0 of 0.1.0).
pub const VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to (below 100).
pub const VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to (below 100).
pub const VERSION_PATCH: u32 = 0;
/// The version as one number, `MAJOR * 10000 + MINOR * 100 + PATCH` (0.1.0 is 100, 1.2.3
/// is 10203): compare it with `swtls_version_number()`, the version of the library loaded
/// at run time.
pub const VERSION_NUMBER: u32 = VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH;

// cbindgen copies only literal values into the header, so the numbers above are written
// out by hand; this stops the build as soon as they differ from the version in Cargo.toml.
const _: () = {
    assert!(VERSION_MAJOR == decimal(env!("CARGO_PKG_VERSION_MAJOR")), "VERSION_MAJOR differs from Cargo.toml");
    assert!(VERSION_MINOR == decimal(env!("CARGO_PKG_VERSION_MINOR")), "VERSION_MINOR differs from Cargo.toml");
    assert!(VERSION_PATCH == decimal(env!("CARGO_PKG_VERSION_PATCH")), "VERSION_PATCH differs from Cargo.toml");
    assert!(VERSION_MINOR < 100 && VERSION_PATCH < 100, "VERSION_NUMBER needs minor and patch below 100");
};

/// A decimal number at compile time (the `CARGO_PKG_VERSION_*` strings).
const fn decimal(s: &str) -> u32 {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "empty number");
    let mut n = 0u32;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "not a decimal number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The version of the library loaded at run time as one number, encoded as
/// `SWTLS_VERSION_NUMBER` (`MAJOR * 10000 + MINOR * 100 + PATCH`). A program checks that
/// the header it was compiled with and the library it runs with match:
/// `swtls_version_number() == SWTLS_VERSION_NUMBER`.
#[no_mangle]
pub extern "C" fn swtls_version_number() -> u32 {
    VERSION_NUMBER
}

/// The stable name of a status code, e.g. `"UNAUTHENTICATED"`; `"UNRECOGNIZED"` for a
/// number that is not a status. The string is static: never free it.
#[no_mangle]
pub extern "C" fn swtls_status_name(status: u32) -> *const c_char {
    guard_or(c"UNRECOGNIZED".as_ptr(), || match Status::from_code(status) {
        Some(s) => STATUS_NAMES.iter().find(|(x, _)| *x == s).map_or(c"UNRECOGNIZED".as_ptr(), |(_, n)| n.as_ptr()),
        None => c"UNRECOGNIZED".as_ptr(),
    })
}

/// Every status with its name as a C string.
static STATUS_NAMES: std::sync::LazyLock<Vec<(Status, std::ffi::CString)>> = std::sync::LazyLock::new(|| {
    Status::ALL.iter().map(|s| (*s, std::ffi::CString::new(s.name()).unwrap_or_default())).collect()
});

/// The message of the last failed swtls call on the calling thread: it names the file, key,
/// entry or backend at fault. Empty when no call has failed on this thread.
///
/// The string belongs to the library and stays valid until the next failing swtls call on
/// the same thread; copy it to keep it. Successful calls do not change it.
///
/// A call made while the thread exits, after the library's thread-local storage on it was
/// destroyed (from a pthread key or thread-local destructor), still returns its status, but
/// its message cannot be kept: this then returns a static string starting with
/// `"swtls_last_error: not available"`.
#[no_mangle]
pub extern "C" fn swtls_last_error() -> *const c_char {
    guard_or(c"".as_ptr(), last_error_ptr)
}

/// A log callback: `(userdata, level, message, message_len)`. `message` is UTF-8 and
/// NUL-terminated, `message_len` its length without the NUL; it is valid only during the call.
pub type swtls_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, level: LogLevel, message: *const c_char, message_len: usize)>;

/// Routes the library's log messages of level `max_level` and more severe to `callback`
/// (`SWTLS_LOG_LEVEL_ERROR` = 1 … `SWTLS_LOG_LEVEL_DEBUG` = 4). `callback` may be NULL to
/// restore the default: warnings and errors on stderr.
///
/// The callback may be called from any thread, including the library's worker threads,
/// and concurrently; `userdata` is passed back unchanged. Messages never contain private
/// keys or tokens.
///
/// When this returns, the previous callback is not running on any thread and will not be
/// called again, so its `userdata` may be freed (or a language runtime behind it shut
/// down). Called from inside the callback itself, it cannot wait for that call.
#[no_mangle]
pub extern "C" fn swtls_set_log_callback(
    callback: swtls_log_callback,
    userdata: *mut c_void,
    max_level: u32,
) -> Status {
    guard("swtls_set_log_callback", || {
        let max = LogLevel::from_number(max_level as i64)?;
        logging::set_c_callback(callback, userdata, max);
        Ok(())
    })
}

/// Frees a response buffer returned by swtls (`data`, `len` exactly as returned).
/// `swtls_bytes_free(NULL, 0)` does nothing.
#[no_mangle]
pub unsafe extern "C" fn swtls_bytes_free(data: *mut u8, len: usize) {
    guard_or((), || {
        if !data.is_null() {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)));
        }
    })
}
