//! The boundary of the entry points called from other languages: the C API ([`crate::ffi`])
//! and the JNI entry points (`jni`). Each layer says how it hands an error to its caller
//! (the C layer records the message for `swtls_last_error`, the JNI layer throws a
//! `SwtlsException` built from the error); what runs inside the boundary, and how a panic
//! becomes [`Status::Panic`], is the same for both.

use crate::error::{Error, Result, Status};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the entry point `name`: `f` on `ctx`. When `f` fails, `report` gets its error; when
/// it panics, `report` gets an error with [`Status::Panic`] that names the entry point.
/// Returns `f`'s value, or the status of the failure.
///
/// No panic crosses: running `f`, reporting, and dropping the error or the panic's payload
/// all happen inside `catch_unwind` (a panic while reporting a panic leaves it unreported).
pub(crate) fn run<C: ?Sized, T>(
    name: &str,
    ctx: &mut C,
    f: impl FnOnce(&mut C) -> Result<T>,
    report: impl FnOnce(&mut C, &Error),
) -> std::result::Result<T, Status> {
    let mut report = Some(report);
    let outcome = catch_unwind(AssertUnwindSafe(|| match f(ctx) {
        Ok(value) => Ok(value),
        Err(e) => {
            if let Some(report) = report.take() {
                report(ctx, &e);
            }
            Err(e.status)
        }
    }));
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let reported = catch_unwind(AssertUnwindSafe(|| {
                if let Some(report) = report.take() {
                    let message = format!(
                        "{name}: internal panic (a bug in swtls, please report it): {}",
                        panic_message(&*payload)
                    );
                    report(ctx, &Error::new(Status::Panic, message));
                }
            }));
            if let Err(again) = reported {
                std::mem::forget(again);
            }
            discard(payload);
            Err(Status::Panic)
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Drops a panic payload inside the boundary too (its `Drop` could panic); a payload of
/// that second panic is leaked rather than dropped.
pub(crate) fn discard(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}
