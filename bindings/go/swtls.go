// Package swtls is the Go binding of swtls, the TLS/mTLS gRPC core that Apache SkyWalking
// agents share: it makes unary and client-streaming calls to the OAP backend, and reports
// messages through a bounded queue, with the raw protobuf bytes the agent encodes.
//
// The binding is thin: configuration parsing, the TLS mode decision, certificates, gRPC and
// queueing all live in the Rust library (libswtls); this package converts types and errors.
// See the repository README, sections "Configuration", "TLS mode" and "Go".
//
// Errors returned by this package are *Error values carrying the library's status code and
// message (use errors.As, StatusOf or the Is* helpers), or the context's error when a
// context ends first.
package swtls

// #include <stdlib.h>
// #include "swtls_go.h"
import "C"

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"
	"unsafe"
)

// Version returns the library and rustls versions, e.g. "swtls/0.1.0 rustls/0.23.46 ring".
func Version() string {
	return C.GoString(C.swtls_version())
}

// errorFrom builds the *Error of a failed call from its status and the copied message.
func errorFrom(st C.swtls_status, msg *C.char) error {
	if st == C.SWTLS_STATUS_OK {
		return nil
	}
	e := &Error{Code: Status(st)}
	if msg != nil {
		e.Message = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	}
	return e
}

// strArg passes a Go string to C as (pointer, length); the helpers copy it into a
// NUL-terminated buffer during the call.
func strArg(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// bytesPtr returns the address of b's first byte for C (NULL for an empty slice). C copies
// the bytes during the call and keeps no pointer to them.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

// takeBytes copies a response buffer of the library into Go memory and frees it.
func takeBytes(p *C.uint8_t, n C.size_t) []byte {
	if p == nil {
		return []byte{}
	}
	out := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.swtls_bytes_free(p, n)
	return out
}

// checkString refuses a string that cannot become a C string: the library would see it cut
// at its first NUL byte.
func checkString(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return &Error{Code: StatusInvalidParameter, Message: what + " " + quote(s) + " contains a NUL byte"}
	}
	return nil
}

func quote(s string) string {
	return "\"" + strings.ReplaceAll(s, "\x00", "\\x00") + "\""
}

// timeoutMs converts the context's deadline into the library's timeout_ms: 0 (the
// configured collector.grpc_upstream_timeout) without a deadline, at least 1 ms otherwise.
// It fails with context.DeadlineExceeded when the deadline has passed already.
func timeoutMs(ctx context.Context) (C.uint32_t, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	left := time.Until(deadline)
	if left <= 0 {
		return 0, context.DeadlineExceeded
	}
	ms := (left + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 {
		ms = math.MaxUint32
	}
	return C.uint32_t(ms), nil
}

// runCtx runs a blocking library call. When the context can be cancelled, the call runs on
// its own goroutine and runCtx returns ctx.Err() as soon as the context is cancelled; the
// call then goes on in the background until the library's own timeout (the context's
// deadline) ends it. When the context's deadline passes, runCtx returns the call's own
// result, due at the same moment. (Calls the library can cancel, Unary and streams, use
// its cancellation instead: see call.go.)
func runCtx[T any](ctx context.Context, call func() T) (T, error) {
	if ctx.Done() == nil {
		return call(), nil
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	done := make(chan T, 1)
	go func() { done <- call() }()
	select {
	case r := <-done:
		return r, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The library's own timeout is this deadline: its answer (which says what
			// was left undone) is due now.
			return <-done, nil
		}
		var zero T
		return zero, ctx.Err()
	}
}
