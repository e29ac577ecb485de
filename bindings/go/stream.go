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
	stop func() bool // unregisters the cancellation hook

	mu  sync.Mutex
	ptr *C.swtls_stream // nil after Finish or Close
}

// OpenStream opens a client-streaming call on method (e.g.
// "/skywalking.v3.TraceSegmentReportService/collect"). The context's deadline bounds the
// whole stream (without one, collector.grpc_upstream_timeout); cancelling the context
// cancels the stream. A stream that is neither finished nor closed is cancelled by a
// finalizer, as a safety net only.
func (c *Channel) OpenStream(ctx context.Context, method string) (*Stream, error) {
	if err := checkString("method", method); err != nil {
		return nil, err
	}
	timeout, err := timeoutMs(ctx)
	if err != nil {
		return nil, err
	}
	if !c.acquire() { // held by the stream until it is finished or closed
		return nil, errChannelClosed()
	}
	type opened struct {
		ptr *C.swtls_stream
		err error
	}
	r, err := runCtx(ctx, func() opened {
		var ptr *C.swtls_stream
		var msg *C.char
		m, mn := strArg(method)
		if st := C.swtls_go_stream_open(c.ptr, m, mn, timeout, &ptr, &msg); st != C.SWTLS_STATUS_OK {
			c.release()
			return opened{err: errorFrom(st, msg)}
		}
		return opened{ptr: ptr}
	}, func(o opened) {
		if o.ptr != nil {
			C.swtls_stream_free(o.ptr)
			c.release()
		}
	})
	runtime.KeepAlive(c)
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	s := &Stream{ch: c, ctx: ctx, ptr: r.ptr}
	s.stop = context.AfterFunc(ctx, s.Close)
	runtime.SetFinalizer(s, (*Stream).Close)
	return s, nil
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
	return errorFrom(st, msg)
}

// Finish ends the stream, waits for the server's answer and returns it, then releases the
// stream. A second Finish returns an error with StatusClosed. When the context is
// cancelled, Finish returns ctx.Err() at once; the finish goes on in the background until
// the server answers or the stream's deadline passes.
func (s *Stream) Finish() ([]byte, error) {
	if err := s.ctx.Err(); err != nil {
		s.Close() // cancels the stream, when the context's hook did not yet
		return nil, err
	}
	s.mu.Lock()
	ptr := s.ptr
	s.ptr = nil
	s.mu.Unlock()
	if ptr == nil {
		return nil, errStreamDone()
	}
	s.stop()
	r, err := runCtx(s.ctx, func() result {
		defer s.ch.release()
		var resp *C.uint8_t
		var respLen C.size_t
		var msg *C.char
		if st := C.swtls_go_stream_finish(ptr, &resp, &respLen, &msg); st != C.SWTLS_STATUS_OK {
			return result{err: errorFrom(st, msg)}
		}
		return result{resp: takeBytes(resp, respLen)}
	}, nil)
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	return r.resp, r.err
}

// Close cancels the stream when it was not finished (the server does not commit it) and
// releases it. It is idempotent, and waits for a Send in progress on another goroutine.
func (s *Stream) Close() {
	s.mu.Lock()
	ptr := s.ptr
	s.ptr = nil
	s.mu.Unlock()
	if ptr == nil {
		return
	}
	s.stop()
	C.swtls_stream_free(ptr)
	s.ch.release()
}
