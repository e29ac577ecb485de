package swtls

// #include <stdlib.h>
// #include "swtls_go.h"
import "C"

import (
	"context"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// TLSMode is how a channel talks to its backends, decided when it is made from which
// certificate files exist (see the README's TLS mode table).
type TLSMode int

// The TLS modes.
const (
	// TLSModePlaintext is plaintext HTTP/2 (h2c): no ca.crt found and force TLS off.
	TLSModePlaintext TLSMode = C.SWTLS_TLS_MODE_PLAINTEXT
	// TLSModeTLS is one-way TLS; the server is verified against the configured CA file.
	TLSModeTLS TLSMode = C.SWTLS_TLS_MODE_TLS
	// TLSModeMutualTLS is mutual TLS: the configured CA file plus client certificate and key.
	TLSModeMutualTLS TLSMode = C.SWTLS_TLS_MODE_MUTUAL_TLS
	// TLSModeTLSSystemRoots is one-way TLS verified against the system trust store (force
	// TLS, no CA).
	TLSModeTLSSystemRoots TLSMode = C.SWTLS_TLS_MODE_TLS_SYSTEM_ROOTS
	// TLSModeMutualTLSSystemRoots is mutual TLS with the system trust store.
	TLSModeMutualTLSSystemRoots TLSMode = C.SWTLS_TLS_MODE_MUTUAL_TLS_SYSTEM_ROOTS
)

// String returns the mode's name.
func (m TLSMode) String() string {
	switch m {
	case TLSModePlaintext:
		return "plaintext"
	case TLSModeTLS:
		return "tls"
	case TLSModeMutualTLS:
		return "mutual-tls"
	case TLSModeTLSSystemRoots:
		return "tls-system-roots"
	case TLSModeMutualTLSSystemRoots:
		return "mutual-tls-system-roots"
	}
	return "unknown"
}

// Channel is a channel to the configured backends (TLS or plaintext, as the mode table
// decides), with its reporter. It connects lazily, on the first call.
//
// A Channel may be used from any number of goroutines at once; calls share its
// connections. Close it when done: Close delivers what Report queued, then releases the
// connections and the library's handle. A finalizer frees a channel that was never closed
// (dropping what is still queued), as a safety net only.
type Channel struct {
	ptr *C.swtls_channel
	// refs is 1 while the channel is open plus 1 per call in flight (and per open stream);
	// the handle is freed when it drops to 0, so it is never freed under a running call.
	refs   atomic.Int64
	closed atomic.Bool
	mode   TLSMode
	reason string
	final  atomic.Pointer[Stats] // the counters when Close ended
}

// NewChannel builds a channel from a configuration: it decides the TLS mode, reads and
// checks every certificate and key file (errors name the file) and prepares the
// connections. It does not connect.
func NewChannel(cfg *Config) (*Channel, error) {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	if cfg.ptr == nil {
		return nil, errConfigClosed()
	}
	var ptr *C.swtls_channel
	var mode C.swtls_tls_mode
	var reason, msg *C.char
	if st := C.swtls_go_channel_new(cfg.ptr, &ptr, &mode, &reason, &msg); st != C.SWTLS_STATUS_OK {
		return nil, errorFrom(st, msg)
	}
	c := &Channel{ptr: ptr, mode: TLSMode(mode), reason: C.GoString(reason)}
	C.free(unsafe.Pointer(reason))
	c.refs.Store(1)
	runtime.SetFinalizer(c, (*Channel).finalize)
	return c, nil
}

// TLSMode returns the TLS mode the channel uses.
func (c *Channel) TLSMode() TLSMode { return c.mode }

// TLSReason says why the channel uses its TLS mode (which files were found, what was
// missing).
func (c *Channel) TLSReason() string { return c.reason }

// acquire takes a reference for one call; false once the handle is freed.
func (c *Channel) acquire() bool {
	for {
		n := c.refs.Load()
		if n == 0 {
			return false
		}
		if c.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (c *Channel) release() {
	if c.refs.Add(-1) == 0 {
		C.swtls_channel_free(c.ptr)
	}
}

func errChannelClosed() error {
	return &Error{Code: StatusClosed, Message: "the channel is closed (Channel.Close was called); make a new channel"}
}

// Unary makes one unary call: method is a full gRPC path such as
// "/skywalking.v3.ManagementService/keepAlive", request the encoded protobuf message. It
// returns the response message.
//
// The context's deadline becomes the call's deadline (without one, the configured
// collector.grpc_upstream_timeout applies). When the context is cancelled, the library
// cancels the call (the server sees it reset) and Unary returns ctx.Err().
func (c *Channel) Unary(ctx context.Context, method string, request []byte) ([]byte, error) {
	return c.UnaryWith(ctx, method, request, nil)
}

// Report queues one message for a client-streaming method (e.g.
// "/skywalking.v3.TraceSegmentReportService/collect") without waiting for the network: the
// bytes are copied into that method's bounded queue, and a background task of the library
// sends the queue on a stream it keeps open to the current backend.
//
// It returns nil when the message was queued; an error with StatusResourceExhausted
// (IsQueueFull) when the queue was full and the message was dropped; StatusClosed after
// Close; StatusInvalidMethod for a bad path. Delivery is at most once (see Stats).
func (c *Channel) Report(method string, message []byte) error {
	if err := checkString("method", method); err != nil {
		return err
	}
	if !c.acquire() {
		return errChannelClosed()
	}
	var msg *C.char
	m, mn := strArg(method)
	st := C.swtls_go_report(c.ptr, m, mn, bytesPtr(message), C.size_t(len(message)), &msg)
	c.release()
	runtime.KeepAlive(message)
	runtime.KeepAlive(c)
	if st != C.SWTLS_STATUS_OK {
		return errorFrom(st, msg)
	}
	return nil
}

// Flush waits until every message reported before the call has been acknowledged by the
// server, or the context's deadline passed (without one, collector.grpc_upstream_timeout).
//
// It returns nil when all of them were acknowledged; StatusDeadlineExceeded when time ran
// out (the rest stays queued; the message says how many); the status of the failure when
// some were dropped after a server error (e.g. StatusUnauthenticated); StatusClosed after
// Close. When the context is cancelled it returns ctx.Err() at once.
func (c *Channel) Flush(ctx context.Context) error {
	timeout, err := timeoutMs(ctx)
	if err != nil {
		return err
	}
	if !c.acquire() {
		return errChannelClosed()
	}
	r, err := runCtx(ctx, func() error {
		defer c.release()
		var msg *C.char
		st := C.swtls_go_flush(c.ptr, timeout, &msg)
		return errorFrom(st, msg)
	})
	runtime.KeepAlive(c)
	if err != nil {
		return err
	}
	return r
}

// Close closes the channel as Shutdown does, waiting up to the configured
// collector.grpc_upstream_timeout to deliver what is queued.
func (c *Channel) Close() error {
	return c.Shutdown(context.Background())
}

// Shutdown closes the channel: it delivers what is queued until the context's deadline
// (without one, collector.grpc_upstream_timeout), drops what is left (counted in
// DroppedClosed), stops the library's background tasks and closes the connections.
//
// It returns nil when everything queued was delivered, else the error Flush would return;
// the channel is closed whatever it returns. Every later call returns an error with
// StatusClosed, except Stats (the final counters), TLSMode and TLSReason. A second Close
// or Shutdown returns nil. When the context is cancelled, Shutdown returns ctx.Err() at
// once and the close completes in the background.
func (c *Channel) Shutdown(ctx context.Context) error {
	timeout, err := timeoutMs(ctx)
	if err != nil {
		// Nothing can be delivered any more: close at once, dropping what is queued.
		timeout, ctx = 1, context.Background()
	}
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	r, err := runCtx(ctx, func() error {
		var msg *C.char
		st := C.swtls_go_close(c.ptr, timeout, &msg)
		if s, err := c.stats(); err == nil {
			c.final.Store(&s)
		}
		c.release() // the open channel's reference
		return errorFrom(st, msg)
	})
	runtime.KeepAlive(c)
	if err != nil {
		return err
	}
	return r
}

// finalize frees a channel that became unreachable without Close (no call can be in
// flight then: each call keeps the channel reachable).
func (c *Channel) finalize() {
	if c.closed.CompareAndSwap(false, true) {
		c.release()
	}
}

// Stats returns the reporter's counters, the backend in use and the TLS mode. It never
// blocks on the network; after Close it returns the final counters.
func (c *Channel) Stats() (Stats, error) {
	if !c.acquire() {
		if s := c.final.Load(); s != nil {
			return *s, nil
		}
		return Stats{}, errChannelClosed()
	}
	s, err := c.stats()
	c.release()
	runtime.KeepAlive(c)
	return s, err
}

// stats reads the counters; the caller holds a reference.
func (c *Channel) stats() (Stats, error) {
	var cs C.swtls_stats
	var msg *C.char
	if st := C.swtls_go_stats(c.ptr, &cs, &msg); st != C.SWTLS_STATUS_OK {
		return Stats{}, errorFrom(st, msg)
	}
	return Stats{
		Queued:             uint64(cs.queued),
		Sent:               uint64(cs.sent),
		Acknowledged:       uint64(cs.acknowledged),
		Pending:            uint64(cs.pending),
		DroppedQueueFull:   uint64(cs.dropped_queue_full),
		DroppedClosed:      uint64(cs.dropped_closed),
		DroppedServerError: uint64(cs.dropped_server_error),
		FailedStreams:      uint64(cs.failed_streams),
		Reconnects:         uint64(cs.reconnects),
		ConnectFailures:    uint64(cs.connect_failures),
		BackendSwitches:    uint64(cs.backend_switches),
		BytesSent:          uint64(cs.bytes_sent),
		QueuedBytes:        uint64(cs.queued_bytes),
		BackendIndex:       int(cs.backend_index),
		TLSMode:            TLSMode(cs.tls_mode),
		Backend:            C.GoString(&cs.backend[0]),
	}, nil
}

// Stats are the reporter's counters, the backend in use and the TLS mode. All counts are
// since the channel was made. At every moment
//
//	Queued = Acknowledged + DroppedQueueFull + DroppedClosed + DroppedServerError + Pending
type Stats struct {
	// Queued counts messages passed to Report on the open channel: queued, or dropped at
	// once because the queue was full.
	Queued uint64
	// Sent counts messages written to a stream.
	Sent uint64
	// Acknowledged counts messages on streams the server answered with OK: delivered.
	Acknowledged uint64
	// Pending counts messages in a queue or on an open stream.
	Pending uint64
	// DroppedQueueFull counts messages Report dropped because the queue was full.
	DroppedQueueFull uint64
	// DroppedClosed counts messages dropped because the channel was closed first.
	DroppedClosed uint64
	// DroppedServerError counts messages sent on a stream that then failed (none is sent
	// again: at most once).
	DroppedServerError uint64
	// FailedStreams counts reporter streams that did not end with OK.
	FailedStreams uint64
	// Reconnects counts connections opened after the first one.
	Reconnects uint64
	// ConnectFailures counts connection attempts that failed.
	ConnectFailures uint64
	// BackendSwitches counts moves to another backend.
	BackendSwitches uint64
	// BytesSent counts bytes of the messages written to streams.
	BytesSent uint64
	// QueuedBytes is the bytes waiting in the queues now.
	QueuedBytes uint64
	// BackendIndex is the index of the backend in use in collector.backend_service.
	BackendIndex int
	// TLSMode is the channel's TLS mode.
	TLSMode TLSMode
	// Backend is the backend in use as host:port.
	Backend string
}

// Dropped is the sum of the three dropped counters.
func (s Stats) Dropped() uint64 {
	return s.DroppedQueueFull + s.DroppedClosed + s.DroppedServerError
}
