package swtls

// #include <stdlib.h>
// #include "swtls_go.h"
import "C"

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"unsafe"
)

// Metadata is request metadata for one call, sent in addition to the configured
// authentication token. Keys have only lowercase letters, digits, '-', '_' and '.'; values
// are printable ASCII, except under keys ending in "-bin", which take any bytes (sent
// base64-encoded, as gRPC does). Keys starting with "grpc-" and the headers gRPC itself
// sends (content-type, te, user-agent, host, ...) are refused with StatusInvalidArgument,
// naming the key. It has the shape of grpc-go's metadata.MD, which converts to it.
type Metadata map[string][]string

// callOptions are the library's swtls_call_options for one call: the metadata, and a
// cancellation flag raised when the call's context ends.
type callOptions struct {
	ptr    *C.swtls_call_options // nil: no options (no metadata, a context that never ends)
	cancel *C.swtls_cancel
	stop   func() bool   // unregisters the context hook
	fired  chan struct{} // closed when the context hook has raised the flag
}

// newCallOptions builds the options of a call with ctx and md; release them after the
// call. When ctx can end, its end raises the options' cancellation flag, which ends the
// call (blocked in another goroutine) with StatusCancelled.
func newCallOptions(ctx context.Context, md Metadata) (*callOptions, error) {
	o := &callOptions{}
	if len(md) == 0 && ctx.Done() == nil {
		return o, nil
	}
	var msg *C.char
	if st := C.swtls_go_call_options_new(&o.ptr, &msg); st != C.SWTLS_STATUS_OK {
		return nil, errorFrom(st, msg)
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable order on the wire; the values of a key keep theirs
	for _, k := range keys {
		if err := checkString("metadata key", k); err != nil {
			o.release()
			return nil, err
		}
		kp, kn := strArg(k)
		for _, v := range md[k] {
			vp, vn := strArg(v)
			st := C.swtls_go_call_options_add_metadata(o.ptr, kp, kn, (*C.uint8_t)(unsafe.Pointer(vp)), vn, &msg)
			runtime.KeepAlive(v)
			if st != C.SWTLS_STATUS_OK {
				o.release()
				return nil, errorFrom(st, msg)
			}
		}
		runtime.KeepAlive(k)
	}
	if ctx.Done() != nil {
		if st := C.swtls_go_call_options_cancel_new(o.ptr, &o.cancel, &msg); st != C.SWTLS_STATUS_OK {
			o.release()
			return nil, errorFrom(st, msg)
		}
		o.fired = make(chan struct{})
		cancel := o.cancel
		o.stop = context.AfterFunc(ctx, func() {
			C.swtls_cancel_cancel(cancel)
			close(o.fired)
		})
	}
	return o, nil
}

// release unregisters the context hook (waiting for it when it is running: it uses the
// flag) and frees the options and the flag.
func (o *callOptions) release() {
	if o.stop != nil && !o.stop() {
		<-o.fired
	}
	C.swtls_cancel_free(o.cancel)
	C.swtls_call_options_free(o.ptr)
	o.ptr, o.cancel = nil, nil
}

// ctxError returns ctx's error in place of err when the library ended the call as
// cancelled after the context ended (the context hook raised the flag): the package
// returns the context's error when the context ends first.
func ctxError(ctx context.Context, err error) error {
	var e *Error
	if cerr := ctx.Err(); cerr != nil && errors.As(err, &e) && e.Code == StatusCancelled {
		return cerr
	}
	return err
}

// UnaryWith is Unary with request metadata, sent in addition to the configured token (md
// may be nil). See Metadata for the keys and values the library accepts.
//
// The context's deadline becomes the call's deadline (without one, the configured
// collector.grpc_upstream_timeout applies). When the context is cancelled, the library
// cancels the call (the server sees it reset) and UnaryWith returns ctx.Err().
func (c *Channel) UnaryWith(ctx context.Context, method string, request []byte, md Metadata) ([]byte, error) {
	if err := checkString("method", method); err != nil {
		return nil, err
	}
	timeout, err := timeoutMs(ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts, err := newCallOptions(ctx, md)
	if err != nil {
		return nil, err
	}
	defer opts.release()
	if !c.acquire() {
		return nil, errChannelClosed()
	}
	var resp *C.uint8_t
	var respLen C.size_t
	var msg *C.char
	m, mn := strArg(method)
	st := C.swtls_go_unary_with(c.ptr, m, mn, bytesPtr(request), C.size_t(len(request)), timeout, opts.ptr,
		&resp, &respLen, &msg)
	c.release()
	runtime.KeepAlive(request)
	runtime.KeepAlive(method)
	runtime.KeepAlive(c)
	if st != C.SWTLS_STATUS_OK {
		return nil, ctxError(ctx, errorFrom(st, msg))
	}
	return takeBytes(resp, respLen), nil
}

// OpenStreamWith is OpenStream with request metadata, sent in addition to the configured
// token (md may be nil). See Metadata for the keys and values the library accepts.
func (c *Channel) OpenStreamWith(ctx context.Context, method string, md Metadata) (*Stream, error) {
	if err := checkString("method", method); err != nil {
		return nil, err
	}
	timeout, err := timeoutMs(ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The stream's cancellation comes from Stream (swtls_stream_cancel), not from a flag
	// in the options: only the metadata is needed here.
	opts, err := newCallOptions(context.Background(), md)
	if err != nil {
		return nil, err
	}
	defer opts.release()
	if !c.acquire() { // held by the stream until it is finished or closed
		return nil, errChannelClosed()
	}
	var ptr *C.swtls_stream
	var msg *C.char
	m, mn := strArg(method)
	st := C.swtls_go_stream_open_with(c.ptr, m, mn, timeout, opts.ptr, &ptr, &msg)
	runtime.KeepAlive(method)
	runtime.KeepAlive(c)
	if st != C.SWTLS_STATUS_OK {
		c.release()
		return nil, errorFrom(st, msg)
	}
	s := &Stream{ch: c, ctx: ctx, ptr: ptr}
	// Under mu: a context that ends right away runs Close at once, which waits for mu and
	// so sees stop set.
	s.mu.Lock()
	s.stop = context.AfterFunc(ctx, s.Close)
	s.mu.Unlock()
	runtime.SetFinalizer(s, (*Stream).Close)
	return s, nil
}

// Connectivity is a channel's connectivity state, numbered as gRPC's (grpc-go's
// connectivity.State converts from it).
type Connectivity int

// The connectivity states.
const (
	// ConnectivityIdle: no connection and none being made (before the first call).
	ConnectivityIdle Connectivity = C.SWTLS_CONNECTIVITY_IDLE
	// ConnectivityConnecting: a connection is being made.
	ConnectivityConnecting Connectivity = C.SWTLS_CONNECTIVITY_CONNECTING
	// ConnectivityReady: connected to the current backend.
	ConnectivityReady Connectivity = C.SWTLS_CONNECTIVITY_READY
	// ConnectivityTransientFailure: the last attempt to reach the current backend failed;
	// calls will try again.
	ConnectivityTransientFailure Connectivity = C.SWTLS_CONNECTIVITY_TRANSIENT_FAILURE
	// ConnectivityShutdown: the channel is closed.
	ConnectivityShutdown Connectivity = C.SWTLS_CONNECTIVITY_SHUTDOWN
)

// String returns the state's name as gRPC spells it, e.g. "READY".
func (s Connectivity) String() string {
	switch s {
	case ConnectivityIdle:
		return "IDLE"
	case ConnectivityConnecting:
		return "CONNECTING"
	case ConnectivityReady:
		return "READY"
	case ConnectivityTransientFailure:
		return "TRANSIENT_FAILURE"
	case ConnectivityShutdown:
		return "SHUTDOWN"
	}
	return "UNKNOWN"
}

// Connectivity returns the channel's connectivity, as gRPC channels report it. With
// tryToConnect, an idle channel starts connecting in the background. It never blocks on
// the network; after Close it returns ConnectivityShutdown.
func (c *Channel) Connectivity(tryToConnect bool) Connectivity {
	if !c.acquire() {
		return ConnectivityShutdown
	}
	var state C.swtls_connectivity
	var msg *C.char
	try := C.int(0)
	if tryToConnect {
		try = 1
	}
	st := C.swtls_go_connectivity(c.ptr, try, &state, &msg)
	c.release()
	runtime.KeepAlive(c)
	if st != C.SWTLS_STATUS_OK {
		C.free(unsafe.Pointer(msg)) // cannot fail with a live channel and an out-parameter
		return ConnectivityShutdown
	}
	return Connectivity(state)
}
