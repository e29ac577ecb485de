package swtls

// #include "swtls_go.h"
import "C"

import (
	"context"
	"runtime"
	"sync"
)

// Stream is an open client-streaming call: Send messages, then Finish to get the server's
// answer, or Close to cancel it. Calls from several goroutines are serialized, but
// messages from concurrent senders interleave in no defined order.
type Stream struct {
	ch   *Channel
	ctx  context.Context
	stop func() bool // unregisters the context hook (Close)

	mu sync.Mutex // serializes Send, Finish and the release of the stream
	// pmu guards ptr for cancel, which must not wait for a Send or Finish holding mu; ptr
	// is set to nil under both.
	pmu sync.Mutex
	ptr *C.swtls_stream // nil after Finish or Close
}

// OpenStream opens a client-streaming call on method (e.g.
// "/skywalking.v3.TraceSegmentReportService/collect"). The context's deadline bounds the
// whole stream (without one, collector.grpc_upstream_timeout); cancelling the context
// cancels the stream (the server sees it reset, a Send or Finish waiting in another
// goroutine returns at once). A stream that is neither finished nor closed is cancelled by
// a finalizer, as a safety net only.
func (c *Channel) OpenStream(ctx context.Context, method string) (*Stream, error) {
	return c.OpenStreamWith(ctx, method, nil)
}

func errStreamDone() error {
	return &Error{Code: StatusClosed, Message: "the stream is finished or closed (Stream.Finish or Stream.Close was called)"}
}

// Send sends one message (the bytes are copied). It waits only while the stream's small
// buffer is full. When the call already ended it returns how it ended; after Finish or
// Close, an error with StatusClosed; after the context ended, its error.
func (s *Stream) Send(message []byte) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return errStreamDone()
	}
	var msg *C.char
	st := C.swtls_go_stream_send(s.ptr, bytesPtr(message), C.size_t(len(message)), &msg)
	runtime.KeepAlive(message)
	if st != C.SWTLS_STATUS_OK {
		return ctxError(s.ctx, errorFrom(st, msg))
	}
	return nil
}

// Finish ends the stream, waits for the server's answer and returns it, then releases the
// stream. A second Finish returns an error with StatusClosed. When the context ends first
// (or is cancelled while Finish waits), the stream is cancelled and Finish returns
// ctx.Err().
func (s *Stream) Finish() ([]byte, error) {
	if err := s.ctx.Err(); err != nil {
		s.Close() // cancels the stream, when the context's hook did not yet
		return nil, err
	}
	s.mu.Lock()
	if s.ptr == nil {
		s.mu.Unlock()
		return nil, errStreamDone()
	}
	var resp *C.uint8_t
	var respLen C.size_t
	var msg *C.char
	st := C.swtls_go_stream_finish(s.ptr, &resp, &respLen, &msg)
	ptr := s.take()
	s.mu.Unlock()
	s.free(ptr)
	if st != C.SWTLS_STATUS_OK {
		return nil, ctxError(s.ctx, errorFrom(st, msg))
	}
	return takeBytes(resp, respLen), nil
}

// Close cancels the stream when it was not finished (the server does not commit it) and
// releases it. It is idempotent; a Send or Finish waiting in another goroutine returns
// at once.
func (s *Stream) Close() {
	s.cancel()
	s.mu.Lock()
	ptr := s.take()
	s.mu.Unlock()
	s.free(ptr)
}

// cancel cancels the stream without waiting for a Send or Finish in progress.
func (s *Stream) cancel() {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.ptr != nil {
		C.swtls_stream_cancel(s.ptr)
	}
}

// take clears ptr and returns it; the caller holds mu.
func (s *Stream) take() *C.swtls_stream {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	ptr := s.ptr
	s.ptr = nil
	return ptr
}

// free releases a stream taken from s (nothing for nil) and its channel reference.
func (s *Stream) free(ptr *C.swtls_stream) {
	if ptr == nil {
		return
	}
	s.stop()
	C.swtls_stream_free(ptr)
	s.ch.release()
	runtime.KeepAlive(s)
}
