package swtls

// #include "swtls.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
)

// Status is the library's status code (swtls_status): 0 is success, 1–16 are the gRPC
// status codes, 100–199 argument errors, 200–299 configuration, 300–399 files and keys,
// 400–499 TLS and protocol mismatches.
type Status int

// The status codes, as in include/swtls.h.
const (
	// StatusOK is success.
	StatusOK Status = C.SWTLS_STATUS_OK
	// StatusCancelled is gRPC CANCELLED: the call was cancelled.
	StatusCancelled Status = C.SWTLS_STATUS_CANCELLED
	// StatusUnknown is gRPC UNKNOWN: the server or the transport failed without a more specific status.
	StatusUnknown Status = C.SWTLS_STATUS_UNKNOWN
	// StatusInvalidArgument is gRPC INVALID_ARGUMENT, as returned by the server.
	StatusInvalidArgument Status = C.SWTLS_STATUS_INVALID_ARGUMENT
	// StatusDeadlineExceeded is gRPC DEADLINE_EXCEEDED: the call did not finish within its deadline.
	StatusDeadlineExceeded Status = C.SWTLS_STATUS_DEADLINE_EXCEEDED
	// StatusNotFound is gRPC NOT_FOUND, as returned by the server.
	StatusNotFound Status = C.SWTLS_STATUS_NOT_FOUND
	// StatusAlreadyExists is gRPC ALREADY_EXISTS, as returned by the server.
	StatusAlreadyExists Status = C.SWTLS_STATUS_ALREADY_EXISTS
	// StatusPermissionDenied is gRPC PERMISSION_DENIED, as returned by the server.
	StatusPermissionDenied Status = C.SWTLS_STATUS_PERMISSION_DENIED
	// StatusResourceExhausted is gRPC RESOURCE_EXHAUSTED: returned by the server, or a response larger than 50 MiB.
	StatusResourceExhausted Status = C.SWTLS_STATUS_RESOURCE_EXHAUSTED
	// StatusFailedPrecondition is gRPC FAILED_PRECONDITION, as returned by the server.
	StatusFailedPrecondition Status = C.SWTLS_STATUS_FAILED_PRECONDITION
	// StatusAborted is gRPC ABORTED, as returned by the server.
	StatusAborted Status = C.SWTLS_STATUS_ABORTED
	// StatusOutOfRange is gRPC OUT_OF_RANGE, as returned by the server.
	StatusOutOfRange Status = C.SWTLS_STATUS_OUT_OF_RANGE
	// StatusUnimplemented is gRPC UNIMPLEMENTED: the server does not know the method.
	StatusUnimplemented Status = C.SWTLS_STATUS_UNIMPLEMENTED
	// StatusInternal is gRPC INTERNAL, as returned by the server or on a protocol violation.
	StatusInternal Status = C.SWTLS_STATUS_INTERNAL
	// StatusUnavailable is gRPC UNAVAILABLE: no backend could be reached (connection refused, name not resolved, connection lost).
	StatusUnavailable Status = C.SWTLS_STATUS_UNAVAILABLE
	// StatusDataLoss is gRPC DATA_LOSS, as returned by the server.
	StatusDataLoss Status = C.SWTLS_STATUS_DATA_LOSS
	// StatusUnauthenticated is gRPC UNAUTHENTICATED: the server refused the `authentication` token (or its absence).
	StatusUnauthenticated Status = C.SWTLS_STATUS_UNAUTHENTICATED
	// StatusNullArgument is a required pointer argument was NULL.
	StatusNullArgument Status = C.SWTLS_STATUS_NULL_ARGUMENT
	// StatusInvalidUTF8 is a string argument was not valid UTF-8.
	StatusInvalidUTF8 Status = C.SWTLS_STATUS_INVALID_UTF8
	// StatusPanic is a Rust panic was caught at the API boundary (a bug in swtls; please report it).
	StatusPanic Status = C.SWTLS_STATUS_PANIC
	// StatusClosed is the object was already finished or closed.
	StatusClosed Status = C.SWTLS_STATUS_CLOSED
	// StatusInvalidMethod is a method path is not of the form `/package.Service/Method`.
	StatusInvalidMethod Status = C.SWTLS_STATUS_INVALID_METHOD
	// StatusInvalidParameter is an argument is out of its allowed range.
	StatusInvalidParameter Status = C.SWTLS_STATUS_INVALID_PARAMETER
	// StatusConfigUnknownKey is a configuration key is not known.
	StatusConfigUnknownKey Status = C.SWTLS_STATUS_CONFIG_UNKNOWN_KEY
	// StatusConfigInvalidValue is a configuration value does not parse for its key.
	StatusConfigInvalidValue Status = C.SWTLS_STATUS_CONFIG_INVALID_VALUE
	// StatusConfigInvalidBackend is an entry of the backend address list is not `host:port`.
	StatusConfigInvalidBackend Status = C.SWTLS_STATUS_CONFIG_INVALID_BACKEND
	// StatusFileNotFound is a file named by the configuration does not exist.
	StatusFileNotFound Status = C.SWTLS_STATUS_FILE_NOT_FOUND
	// StatusFileUnreadable is a file exists but could not be read.
	StatusFileUnreadable Status = C.SWTLS_STATUS_FILE_UNREADABLE
	// StatusCertificateInvalid is a certificate file is empty, not PEM, or holds no usable certificate.
	StatusCertificateInvalid Status = C.SWTLS_STATUS_CERTIFICATE_INVALID
	// StatusPrivateKeyInvalid is a private key file is empty, not PEM, encrypted, or holds no usable key.
	StatusPrivateKeyInvalid Status = C.SWTLS_STATUS_PRIVATE_KEY_INVALID
	// StatusKeyMismatch is the private key does not belong to the client certificate.
	StatusKeyMismatch Status = C.SWTLS_STATUS_KEY_MISMATCH
	// StatusClientCertIncomplete is only one of the client certificate and its private key was found.
	StatusClientCertIncomplete Status = C.SWTLS_STATUS_CLIENT_CERT_INCOMPLETE
	// StatusTLSUnknownIssuer is the server's certificate was not issued by a trusted CA (unknown issuer, or a signature that does not verify with the trusted CA of that name).
	StatusTLSUnknownIssuer Status = C.SWTLS_STATUS_TLS_UNKNOWN_ISSUER
	// StatusTLSNameMismatch is the server's certificate is not valid for the expected server name.
	StatusTLSNameMismatch Status = C.SWTLS_STATUS_TLS_NAME_MISMATCH
	// StatusTLSCertificateExpired is the server's certificate is expired or not yet valid.
	StatusTLSCertificateExpired Status = C.SWTLS_STATUS_TLS_CERTIFICATE_EXPIRED
	// StatusTLSBadCertificate is the server's certificate is invalid for another reason (bad encoding, wrong usage, unsupported algorithm).
	StatusTLSBadCertificate Status = C.SWTLS_STATUS_TLS_BAD_CERTIFICATE
	// StatusTLSClientCertRequired is the server requires a client certificate and none is configured.
	StatusTLSClientCertRequired Status = C.SWTLS_STATUS_TLS_CLIENT_CERT_REQUIRED
	// StatusTLSClientCertRejected is the server rejected the client certificate.
	StatusTLSClientCertRejected Status = C.SWTLS_STATUS_TLS_CLIENT_CERT_REJECTED
	// StatusTLSHandshakeFailed is the TLS handshake failed for another reason (no common version or cipher suite, ALPN, an alert from the server).
	StatusTLSHandshakeFailed Status = C.SWTLS_STATUS_TLS_HANDSHAKE_FAILED
	// StatusServerNotTLS is the client speaks TLS but the server answered in plaintext.
	StatusServerNotTLS Status = C.SWTLS_STATUS_SERVER_NOT_TLS
	// StatusServerRequiresTLS is the client speaks plaintext but the server expects TLS.
	StatusServerRequiresTLS Status = C.SWTLS_STATUS_SERVER_REQUIRES_TLS
)

// String returns the stable name of the code, e.g. "UNAUTHENTICATED" ("UNRECOGNIZED" for
// a number that is not a status).
func (s Status) String() string {
	if s < 0 || int64(s) > int64(^uint32(0)) {
		return "UNRECOGNIZED"
	}
	return C.GoString(C.swtls_status_name(C.uint32_t(s)))
}

// Error is a failure reported by the library: its status code and the message
// swtls_last_error() gave for it, which names the file, key, entry or backend at fault.
//
// A DEADLINE_EXCEEDED error also matches context.DeadlineExceeded with errors.Is, and a
// CANCELLED one context.Canceled, so that a deadline reads the same whether the context
// or the library noticed it first.
type Error struct {
	Code    Status
	Message string
}

// Error returns "swtls: CODE_NAME: message".
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("swtls: %v", e.Code)
	}
	return fmt.Sprintf("swtls: %v: %s", e.Code, e.Message)
}

// Is reports whether target is the context error of the same meaning (see Error).
func (e *Error) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == StatusDeadlineExceeded
	case context.Canceled:
		return e.Code == StatusCancelled
	}
	return false
}

// StatusOf returns the status code of err: StatusOK for nil, the Code of an *Error found by
// errors.As, StatusDeadlineExceeded or StatusCancelled for the context's errors, and
// StatusUnknown for any other error.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return StatusDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return StatusCancelled
	}
	return StatusUnknown
}

// IsUnavailable reports whether no backend could be reached (UNAVAILABLE).
func IsUnavailable(err error) bool { return StatusOf(err) == StatusUnavailable }

// IsUnauthenticated reports whether the backend refused the authentication token.
func IsUnauthenticated(err error) bool { return StatusOf(err) == StatusUnauthenticated }

// IsDeadlineExceeded reports whether a deadline ended the call (the library's or the
// context's).
func IsDeadlineExceeded(err error) bool { return StatusOf(err) == StatusDeadlineExceeded }

// IsClosed reports whether the channel, stream or configuration was closed already.
func IsClosed(err error) bool { return StatusOf(err) == StatusClosed }

// IsQueueFull reports whether Report dropped the message because its queue was full
// (RESOURCE_EXHAUSTED).
func IsQueueFull(err error) bool { return StatusOf(err) == StatusResourceExhausted }

// IsTLS reports whether err is a TLS or protocol mismatch (codes 400–499): the message says
// which certificate or setting to fix.
func IsTLS(err error) bool {
	s := StatusOf(err)
	return s >= 400 && s < 500
}

// IsConfig reports whether err is a configuration, file or key error (codes 200–399).
func IsConfig(err error) bool {
	s := StatusOf(err)
	return s >= 200 && s < 400
}
