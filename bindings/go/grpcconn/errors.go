package grpcconn

import (
	"context"
	"errors"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is the error of a call that failed in the library or by its context: a gRPC
// status (status.Code, status.FromError and status.Convert see it through GRPCStatus)
// that wraps its cause, a *swtls.Error or the context's error (errors.As, errors.Is).
type Error struct {
	status *status.Status
	cause  error
}

// Error returns the status in grpc-go's form: "rpc error: code = Unavailable desc = ...".
func (e *Error) Error() string { return e.status.Err().Error() }

// GRPCStatus returns the gRPC status.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Unwrap returns the cause: a *swtls.Error, context.Canceled or context.DeadlineExceeded.
func (e *Error) Unwrap() error { return e.cause }

// Code maps a swtls status to the gRPC code a call returns (the table in the README):
//
//	OK                                    OK
//	1–16 (gRPC codes, e.g. UNAUTHENTICATED) the same code
//	CLOSED (channel or stream closed)      Canceled (as grpc-go's closing ClientConn)
//	PANIC                                  Internal
//	100–199 other argument errors          InvalidArgument (NULL_ARGUMENT, INVALID_UTF8,
//	                                       INVALID_METHOD, INVALID_PARAMETER)
//	200–299 configuration                  FailedPrecondition
//	300–399 files and keys                 Unavailable (the connection cannot be made)
//	400–499 TLS and protocol mismatches    Unavailable (as grpc-go's failed handshakes)
//	anything else                          Unknown
func Code(s swtls.Status) codes.Code {
	switch {
	case s == swtls.StatusOK:
		return codes.OK
	case s >= 1 && s <= 16:
		return codes.Code(s)
	case s == swtls.StatusClosed:
		return codes.Canceled
	case s == swtls.StatusPanic:
		return codes.Internal
	case s >= 100 && s < 200:
		return codes.InvalidArgument
	case s >= 200 && s < 300:
		return codes.FailedPrecondition
	case s >= 300 && s < 500:
		return codes.Unavailable
	}
	return codes.Unknown
}

// toStatus turns an error of the swtls binding into an *Error (nil stays nil).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var e *swtls.Error
	switch {
	case errors.As(err, &e):
		msg := e.Message
		if e.Code < 1 || e.Code > 16 {
			// swtls's own codes: keep the library's code name in the message.
			msg = "swtls " + e.Code.String() + ": " + e.Message
		}
		return &Error{status: status.New(Code(e.Code), msg), cause: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Error{status: status.FromContextError(err), cause: err}
	}
	return &Error{status: status.New(codes.Unknown, err.Error()), cause: err}
}
