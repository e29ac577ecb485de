//! The C API. This layer only converts and delegates: arguments are checked for NULL and
//! UTF-8, Rust objects become opaque handles, errors become a status code plus a thread-local
//! message, and no panic crosses the boundary.
//!
//! Handle pattern (one for every type): `*_new` boxes a Rust object and hands out the raw
//! pointer; functions borrow it back with [`arg_ref`]; `*_free` takes the box back and drops
//! it, and `*_free(NULL)` does nothing.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod call;
mod channel;
mod config;
mod misc;
mod reporter;

pub use call::*;
pub use channel::*;
pub use config::*;
pub use misc::*;
pub use reporter::*;

use crate::boundary;
use crate::error::{Error, Result, Status};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// What `swtls_last_error` returns when the calling thread's storage for the last error is
/// gone (a call made from a thread-local or pthread key destructor while the thread exits):
/// the message of a failure could not be kept, but the status was returned all the same.
pub(crate) const LAST_ERROR_UNAVAILABLE: &CStr =
    c"swtls_last_error: not available (the calling thread is exiting and its thread-local storage was destroyed)";

/// Records the message of a failure for `swtls_last_error`; does nothing (and never
/// panics) when the thread's storage is already destroyed.
pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "?")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut slot) = l.try_borrow_mut() {
            *slot = c;
        }
    });
}

/// The last error of the calling thread, or [`LAST_ERROR_UNAVAILABLE`]; never panics.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|l| l.try_borrow().map(|m| m.as_ptr()).unwrap_or(LAST_ERROR_UNAVAILABLE.as_ptr()))
        .unwrap_or(LAST_ERROR_UNAVAILABLE.as_ptr())
}

/// The panic boundary for fallible entry points ([`crate::boundary::run`]): the message of
/// an error (or of a panic, as `SWTLS_STATUS_PANIC`) is recorded for `swtls_last_error`,
/// and its status returned.
pub(crate) fn guard(name: &str, f: impl FnOnce() -> Result<()>) -> Status {
    match boundary::run(name, &mut (), |_| f(), |_, e| set_last_error(&e.message)) {
        Ok(()) => Status::Ok,
        Err(status) => status,
    }
}

/// The panic boundary for entry points that cannot report a status (`*_free`, getters).
pub(crate) fn guard_or<T: Copy>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            boundary::discard(payload);
            fallback
        }
    }
}

fn null(name: &str) -> Error {
    Error::new(Status::NullArgument, format!("argument '{name}' must not be NULL"))
}

/// Borrows a handle or struct argument.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| null(name))
}

/// Borrows a NUL-terminated UTF-8 string argument.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    CStr::from_ptr(p).to_str().map_err(|e| {
        Error::new(
            Status::InvalidUtf8,
            format!("argument '{name}' is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()),
        )
    })
}

/// Borrows a buffer argument; NULL is allowed only with length 0. A length above
/// `isize::MAX` cannot describe a buffer (`slice::from_raw_parts` requires it) and is refused.
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(name));
    }
    if len > isize::MAX as usize {
        return Err(Error::new(
            Status::InvalidParameter,
            format!("argument '{name}': length {len} is larger than any buffer can be (isize::MAX = {})", isize::MAX),
        ));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// Checks an out-parameter up front; it is written only once the call succeeded.
pub(crate) unsafe fn arg_out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut std::mem::MaybeUninit<T>> {
    (p as *mut std::mem::MaybeUninit<T>).as_mut().ok_or_else(|| null(name))
}

/// Moves a Rust value into a new handle.
pub(crate) fn to_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes a handle back and drops it; NULL is a no-op.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        drop(Box::from_raw(p));
    }
}

/// Hands a response buffer to C; it is released with `swtls_bytes_free`.
pub(crate) fn to_c_bytes(
    data: &[u8],
    out_data: &mut std::mem::MaybeUninit<*mut u8>,
    out_len: &mut std::mem::MaybeUninit<usize>,
) {
    let boxed: Box<[u8]> = data.into();
    let len = boxed.len();
    out_data.write(Box::into_raw(boxed) as *mut u8);
    out_len.write(len);
}
