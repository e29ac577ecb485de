package grpcconn

import (
	"context"
	"io"
	"sync"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// clientStream is the grpc.ClientStream of a client-streaming call on a swtls stream.
//
//   - SendMsg marshals the message and sends it, waiting only while the stream's buffer is
//     full. As in grpc-go, when the call has ended (the server answered or failed, the
//     context ended) it returns io.EOF, and RecvMsg returns how the call ended.
//   - CloseSend half-closes the stream: the server sees the end of the messages; the
//     answer is awaited in the background.
//   - RecvMsg waits for the answer (after CloseSend; called first, it half-closes the
//     stream itself: a swtls stream is answered once its messages end) and unmarshals it;
//     a later RecvMsg returns io.EOF, or the call's error again when it failed.
//   - Header returns empty metadata and Trailer empty metadata: swtls does not pass on
//     response metadata. Context returns the call's context.
//
// Cancelling the context cancels the stream (the server sees it reset). As with grpc-go,
// a stream must end: RecvMsg until an error or io.EOF, or the context cancelled; the
// binding's finalizer is only a safety net.
type clientStream struct {
	ctx  context.Context
	s    *swtls.Stream
	call *call

	// mu guards the state below; no blocking call is made while holding it (the swtls
	// stream serializes its own calls), so RecvMsg may wait while SendMsg sends.
	mu         sync.Mutex
	sendEnded  bool          // SendMsg saw the call end
	sendClosed bool          // CloseSend was called (or RecvMsg, or SendMsg at the call's end)
	ended      bool          // end was called
	done       chan struct{} // closed when the answer (resp or err) is in and the call finished
	resp       []byte
	err        error // the call's status error

	received bool // RecvMsg returned the answer
}

func newClientStream(ctx context.Context, s *swtls.Stream, cl *call) *clientStream {
	return &clientStream{ctx: ctx, s: s, call: cl, done: make(chan struct{})}
}

var _ grpc.ClientStream = (*clientStream)(nil)

func (cs *clientStream) SendMsg(m any) error {
	cs.mu.Lock()
	ended, closed := cs.sendEnded, cs.sendClosed
	cs.mu.Unlock()
	select {
	case <-cs.done:
		ended = true // the answer is in: the call is over
	default:
	}
	switch {
	case ended:
		return io.EOF
	case closed:
		return status.Error(codes.Internal, "SendMsg called after CloseSend")
	}
	data, release, err := cs.call.codec.marshal(m)
	if err != nil {
		// A client-side error ends the stream with it (as grpc-go does).
		err = status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
		cs.s.Close()
		cs.mu.Lock()
		cs.sendEnded, cs.sendClosed = true, true
		cs.mu.Unlock()
		cs.end(nil, err)
		return err
	}
	err = cs.s.Send(data)
	release()
	if err != nil {
		// The call is over; RecvMsg says how (Finish returns the call's outcome).
		cs.mu.Lock()
		cs.sendEnded = true
		cs.closeSend()
		cs.mu.Unlock()
		return io.EOF
	}
	return nil
}

func (cs *clientStream) CloseSend() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closeSend()
	return nil
}

// closeSend finishes the stream in the background, once: the server sees the end of the
// messages, the answer lands in resp/err. The caller holds mu.
func (cs *clientStream) closeSend() {
	if cs.sendClosed {
		return
	}
	cs.sendClosed = true
	go func() {
		resp, err := cs.s.Finish()
		cs.end(resp, toStatus(err))
	}()
}

// end records the answer or the error and finishes the call, once (the first wins): the
// call options' trailers and OnFinish functions are done before RecvMsg can return.
func (cs *clientStream) end(resp []byte, err error) {
	cs.mu.Lock()
	if cs.ended {
		cs.mu.Unlock()
		return
	}
	cs.ended = true
	cs.resp, cs.err = resp, err
	cs.mu.Unlock()
	cs.call.finish(err) // outside mu: OnFinish functions run unlocked
	close(cs.done)
}

func (cs *clientStream) RecvMsg(m any) error {
	cs.mu.Lock()
	cs.closeSend()
	cs.mu.Unlock()
	<-cs.done
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.err != nil {
		return cs.err
	}
	if cs.received {
		return io.EOF
	}
	cs.received = true
	if err := cs.call.codec.unmarshal(cs.resp, m); err != nil {
		cs.err = status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
		return cs.err
	}
	cs.resp = nil
	return nil
}

func (cs *clientStream) Header() (metadata.MD, error) { return metadata.MD{}, nil }

func (cs *clientStream) Trailer() metadata.MD { return metadata.MD{} }

func (cs *clientStream) Context() context.Context { return cs.ctx }
