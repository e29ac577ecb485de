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
            // `report` is gone when it is what panicked: the panic then goes unreported.
            report_panic(name, payload, &mut |e| {
                if let Some(report) = report.take() {
                    report(ctx, e);
                }
            });
            Err(Status::Panic)
        }
    }
}

/// Hands `report` the error that stands for a panic in the entry point `name`, then drops
/// the panic's payload, both inside the boundary. Apart from [`run`] (which is generic), so
/// that every entry point shares this code.
#[cold]
#[inline(never)]
fn report_panic(name: &str, payload: Box<dyn std::any::Any + Send>, report: &mut dyn FnMut(&Error)) {
    let reported = catch_unwind(AssertUnwindSafe(|| {
        let message =
            format!("{name}: internal panic (a bug in swtls, please report it): {}", panic_message(&*payload));
        report(&Error::new(Status::Panic, message));
    }));
    if let Err(again) = reported {
        std::mem::forget(again);
    }
    discard(payload);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_errors_and_panics_cross_as_values_and_statuses() {
        let mut reported: Vec<Error> = Vec::new();
        let r = run("swtls_ok", &mut reported, |_| Ok(7), |seen, e| seen.push(e.clone()));
        assert_eq!((r, reported.len()), (Ok(7), 0));

        let r: std::result::Result<(), Status> = run(
            "swtls_fails",
            &mut reported,
            |_| Err(Error::new(Status::Closed, "closed")),
            |seen, e| seen.push(e.clone()),
        );
        assert_eq!(r, Err(Status::Closed));
        assert_eq!(reported.pop(), Some(Error::new(Status::Closed, "closed")));

        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r: std::result::Result<(), Status> =
            run("swtls_panics", &mut reported, |_| panic!("boom"), |seen, e| seen.push(e.clone()));
        let again: std::result::Result<(), Status> =
            run("swtls_reports_badly", &mut reported, |_| Err(Error::new(Status::Closed, "x")), |_, _| panic!("again"));
        std::panic::set_hook(hook);
        assert_eq!(r, Err(Status::Panic));
        let e = reported.pop().expect("the panic was reported");
        assert_eq!(e.status, Status::Panic);
        assert!(
            e.message.starts_with("swtls_panics: internal panic") && e.message.ends_with(": boom"),
            "{}",
            e.message
        );
        assert_eq!(again, Err(Status::Panic), "a panic while reporting is a panic too");
        assert!(reported.is_empty());
    }
}
