package grpcconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
	"github.com/apache/skywalking-swtls/bindings/go/grpcconn/internal/testpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const testToken = "grpcconn-test-token"

// newConn makes a Conn on a swtls channel to srv with the client certificate of c (mutual
// TLS) and the given key/value settings.
func newConn(t testing.TB, addr string, c *certs, kv ...string) *Conn {
	t.Helper()
	cfg, err := swtls.NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	kv = append([]string{"collector.backend_service", addr, "agent.ca_dir", c.Dir}, kv...)
	for i := 0; i+1 < len(kv); i += 2 {
		if err := cfg.Set(kv[i], kv[i+1]); err != nil {
			t.Fatalf("Set(%q): %v", kv[i], err)
		}
	}
	ch, err := swtls.NewChannel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ch.TLSMode() != swtls.TLSModeMutualTLS {
		t.Fatalf("TLS mode %v (%s)", ch.TLSMode(), ch.TLSReason())
	}
	conn := New(ch)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// shortCtx bounds a call that should succeed quickly (only so that a broken run does not
// hang; it is never what a test asserts).
func shortCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode checks err's gRPC status code and that its message holds each fragment.
func wantCode(t testing.TB, err error, want codes.Code, fragments ...string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want || status.Code(err) != want {
		t.Fatalf("want a status error with %v, got %T %v", want, err, err)
	}
	for _, f := range fragments {
		if !strings.Contains(st.Message(), f) {
			t.Errorf("message %q does not mention %q", st.Message(), f)
		}
	}
	return st
}

func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func segment(i int, service string) *testpb.SegmentObject {
	return &testpb.SegmentObject{
		TraceId:         fmt.Sprintf("trace-%d", i),
		TraceSegmentId:  fmt.Sprintf("segment-%d", i),
		Service:         service,
		ServiceInstance: "instance-1",
		Spans: []*testpb.SpanObject{{
			SpanId: 0, ParentSpanId: -1, StartTime: 1700000000000 + int64(i), EndTime: 1700000000005 + int64(i),
			OperationName: "/api/" + fmt.Sprint(i), Peer: "db:5432", SpanType: testpb.SpanType_Exit, ComponentId: 2,
			Tags: []*testpb.KeyStringValuePair{{Key: "http.method", Value: "GET"}},
		}},
	}
}

func TestKeepAliveThroughGeneratedClient(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, testToken)
	conn := newConn(t, srv.Addr, c, "agent.authentication", testToken)
	if got := conn.GetState(); got != connectivity.Idle {
		t.Fatalf("state before any call: %v", got)
	}
	client := testpb.NewManagementServiceClient(conn)

	ctx := metadata.AppendToOutgoingContext(shortCtx(t), "x-request-id", "42", "x-request-id", "43",
		"trace-bin", "\x00\x01\xfe")
	var header, trailer metadata.MD
	resp, err := client.KeepAlive(ctx, &testpb.InstancePingPkg{Service: "svc", ServiceInstance: "svc-1", Layer: "GENERAL"},
		grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	want := &testpb.Commands{Commands: []*testpb.Command{{Command: "ack",
		Args: []*testpb.KeyStringValuePair{{Key: "instance", Value: "svc-1"}}}}}
	if !proto.Equal(resp, want) {
		t.Fatalf("response %v, want %v", resp, want)
	}
	srv.mu.Lock()
	ping := srv.pings[0]
	srv.mu.Unlock()
	if ping.GetService() != "svc" || ping.GetServiceInstance() != "svc-1" || ping.GetLayer() != "GENERAL" {
		t.Fatalf("server decoded %v", ping)
	}
	md := srv.metadata()
	if !slices.Equal(md.Get("x-request-id"), []string{"42", "43"}) || !slices.Equal(md.Get("trace-bin"), []string{"\x00\x01\xfe"}) ||
		!slices.Equal(md.Get("authentication"), []string{testToken}) {
		t.Fatalf("server saw metadata %v", md)
	}
	if header == nil || len(header) != 0 || trailer == nil || len(trailer) != 0 {
		t.Fatalf("header %v, trailer %v: want empty metadata", header, trailer)
	}
	if got := conn.GetState(); got != connectivity.Ready {
		t.Fatalf("state after a call: %v", got)
	}

	// Keys grpc-go never sends from metadata are dropped as grpc-go drops them; the call
	// goes through.
	ctx = metadata.AppendToOutgoingContext(shortCtx(t), "user-agent", "mine", "grpc-timeout", "1S", "x-ok", "yes")
	if _, err := client.KeepAlive(ctx, &testpb.InstancePingPkg{Service: "svc"}); err != nil {
		t.Fatal(err)
	}
	if md := srv.metadata(); !slices.Equal(md.Get("x-ok"), []string{"yes"}) || md.Get("grpc-timeout") != nil {
		t.Fatalf("server saw metadata %v", md)
	}
	// Metadata the library refuses: InvalidArgument naming the key, nothing sent.
	calls := srv.keepAlives.Load()
	ctx = metadata.AppendToOutgoingContext(shortCtx(t), "grpc-custom", "x")
	_, err = client.KeepAlive(ctx, &testpb.InstancePingPkg{Service: "svc"})
	wantCode(t, err, codes.InvalidArgument, "grpc-custom")
	ctx = metadata.AppendToOutgoingContext(shortCtx(t), "x-text", "line\nbreak")
	_, err = client.KeepAlive(ctx, &testpb.InstancePingPkg{Service: "svc"})
	wantCode(t, err, codes.InvalidArgument, "x-text")
	if srv.keepAlives.Load() != calls {
		t.Fatal("a call with refused metadata reached the server")
	}

	// Concurrent calls share the channel.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				inst := fmt.Sprintf("g%d-%d", g, i)
				r, err := client.KeepAlive(shortCtx(t), &testpb.InstancePingPkg{Service: "svc", ServiceInstance: inst})
				if err == nil && r.GetCommands()[0].GetArgs()[0].GetValue() != inst {
					err = fmt.Errorf("answer %v for %s", r, inst)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestCollectThroughGeneratedClient(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, testToken)
	conn := newConn(t, srv.Addr, c, "agent.authentication", testToken)
	client := testpb.NewTraceSegmentReportServiceClient(conn)

	var finished []error
	var mu sync.Mutex
	onFinish := grpc.OnFinish(func(err error) { mu.Lock(); finished = append(finished, err); mu.Unlock() })
	ctx := metadata.AppendToOutgoingContext(shortCtx(t), "x-batch", "b1")
	stream, err := client.Collect(ctx, onFinish)
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		if err := stream.Send(segment(i, "svc")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if h, err := stream.Header(); err != nil || len(h) != 0 {
		t.Fatalf("Header: %v %v", h, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetCommands()[0].GetArgs()[0].GetValue(); got != fmt.Sprint(n) {
		t.Fatalf("server counted %s segments", got)
	}
	if err := stream.RecvMsg(new(testpb.Commands)); !errors.Is(err, io.EOF) {
		t.Fatalf("second RecvMsg: %v, want io.EOF", err)
	}
	if err := stream.Send(segment(99, "svc")); err != io.EOF {
		t.Fatalf("Send after the answer: %v, want io.EOF", err)
	}
	if stream.Context() != ctx || len(stream.Trailer()) != 0 {
		t.Fatal("Context or Trailer")
	}
	if srv.streams.Load() != 1 || srv.received.Load() != n {
		t.Fatalf("server: %d streams, %d segments", srv.streams.Load(), srv.received.Load())
	}
	srv.mu.Lock()
	for i, seg := range srv.segments {
		if !proto.Equal(seg, segment(i, "svc")) {
			t.Errorf("segment %d decoded as %v", i, seg)
		}
	}
	srv.mu.Unlock()
	if md := srv.metadata(); !slices.Equal(md.Get("x-batch"), []string{"b1"}) ||
		!slices.Equal(md.Get("authentication"), []string{testToken}) {
		t.Fatalf("server saw stream metadata %v", md)
	}
	mu.Lock()
	if len(finished) != 1 || finished[0] != nil {
		t.Fatalf("OnFinish got %v", finished)
	}
	mu.Unlock()

	// SendMsg after CloseSend is the caller's error; RecvMsg before CloseSend closes the
	// sending side itself.
	stream, err = client.Collect(shortCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(segment(0, "svc")); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, stream.Send(segment(1, "svc")), codes.Internal, "after CloseSend")
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	stream, err = client.Collect(shortCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(segment(0, "svc")); err != nil {
		t.Fatal(err)
	}
	var cmds testpb.Commands
	if err := stream.RecvMsg(&cmds); err != nil || cmds.GetCommands()[0].GetArgs()[0].GetValue() != "1" {
		t.Fatalf("RecvMsg without CloseSend: %v %v", &cmds, err)
	}
	if srv.streams.Load() != 3 {
		t.Fatalf("server answered %d streams", srv.streams.Load())
	}
}

func TestDeadline(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, "")
	conn := newConn(t, srv.Addr, c)
	mgmt := testpb.NewManagementServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := mgmt.KeepAlive(ctx, &testpb.InstancePingPkg{Service: slowService})
	wantCode(t, err, codes.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("the call ended after %v, its deadline was 300ms", d)
	}

	// A stream whose deadline passes while the server holds the answer.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	stream, err := testpb.NewTraceSegmentReportServiceClient(conn).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(segment(0, slowService)); err != nil {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.DeadlineExceeded)

	// An expired context: no call is made.
	srv.mu.Lock()
	calls := len(srv.pings)
	srv.mu.Unlock()
	_, err = mgmt.KeepAlive(ctx, &testpb.InstancePingPkg{Service: "svc"})
	wantCode(t, err, codes.DeadlineExceeded)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.pings) != calls {
		t.Fatal("a call with an expired context reached the server")
	}
}

func TestCancel(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, "")
	conn := newConn(t, srv.Addr, c)

	// A unary call cancelled while the server holds it: codes.Canceled at once, and the
	// server sees the call cancelled (the library reset it).
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-srv.entered
		cancel()
	}()
	_, err := testpb.NewManagementServiceClient(conn).KeepAlive(ctx, &testpb.InstancePingPkg{Service: slowService})
	wantCode(t, err, codes.Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) is false", err)
	}
	waitFor(t, srv.cancelled, "the server to see the unary call cancelled")

	// A stream cancelled while CloseAndRecv waits for the answer.
	ctx, cancel = context.WithCancel(context.Background())
	stream, err := testpb.NewTraceSegmentReportServiceClient(conn).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := stream.Send(segment(i, slowService)); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		<-srv.entered
		cancel()
	}()
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.Canceled)
	waitFor(t, srv.cancelled, "the server to see the stream cancelled")
	if err := stream.Send(segment(9, "svc")); err != io.EOF {
		t.Fatalf("Send after cancel: %v, want io.EOF", err)
	}
	wantCode(t, stream.RecvMsg(new(testpb.Commands)), codes.Canceled)

	// A stream cancelled between sends: Send says io.EOF, RecvMsg how the call ended.
	ctx, cancel = context.WithCancel(context.Background())
	stream, err = testpb.NewTraceSegmentReportServiceClient(conn).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(segment(0, "svc")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := stream.Send(segment(1, "svc")); err != io.EOF {
		t.Fatalf("Send after cancel: %v, want io.EOF", err)
	}
	wantCode(t, stream.RecvMsg(new(testpb.Commands)), codes.Canceled)
	if srv.streams.Load() != 0 {
		t.Fatal("a cancelled stream was committed")
	}
	// The channel is still fine.
	if _, err := testpb.NewManagementServiceClient(conn).KeepAlive(shortCtx(t), &testpb.InstancePingPkg{}); err != nil {
		t.Fatal(err)
	}
}

func TestWrongToken(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, testToken)
	conn := newConn(t, srv.Addr, c, "agent.authentication", "not-the-token")

	_, err := testpb.NewManagementServiceClient(conn).KeepAlive(shortCtx(t), &testpb.InstancePingPkg{Service: "svc"})
	st := wantCode(t, err, codes.Unauthenticated, "invalid authentication token")
	var e *swtls.Error
	if !errors.As(err, &e) || e.Code != swtls.StatusUnauthenticated {
		t.Fatalf("the swtls error is not reachable: %#v", err)
	}
	if strings.Contains(st.Message(), "not-the-token") || strings.Contains(err.Error(), "not-the-token") {
		t.Fatalf("the error repeats the token: %v", err)
	}

	var finished error
	stream, err := testpb.NewTraceSegmentReportServiceClient(conn).Collect(shortCtx(t),
		grpc.OnFinish(func(err error) { finished = err }))
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(segment(0, "svc")) // nil, or io.EOF once the server refused the call
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.Unauthenticated)
	if status.Code(finished) != codes.Unauthenticated {
		t.Fatalf("OnFinish got %v", finished)
	}
	if srv.keepAlives.Load() != 0 || srv.received.Load() != 0 {
		t.Fatal("the server accepted a call with the wrong token")
	}
}

func TestOtherStreamKindsAreUnimplemented(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, "")
	conn := newConn(t, srv.Addr, c)
	client := testpb.NewStreamsClient(conn)

	_, err := client.Watch(shortCtx(t), &testpb.InstancePingPkg{})
	wantCode(t, err, codes.Unimplemented, "/swtls.test.Streams/watch", "server-streaming")
	_, err = client.Chat(shortCtx(t))
	wantCode(t, err, codes.Unimplemented, "/swtls.test.Streams/chat", "bidirectional-streaming")
	if got := conn.GetState(); got != connectivity.Idle {
		t.Fatalf("an unimplemented call connected the channel: %v", got)
	}
}

func TestErrorCodes(t *testing.T) {
	// The table of Code.
	for s, want := range map[swtls.Status]codes.Code{
		swtls.StatusOK:                    codes.OK,
		swtls.StatusCancelled:             codes.Canceled,
		swtls.StatusUnauthenticated:       codes.Unauthenticated,
		swtls.StatusUnavailable:           codes.Unavailable,
		swtls.StatusResourceExhausted:     codes.ResourceExhausted,
		swtls.StatusClosed:                codes.Canceled,
		swtls.StatusPanic:                 codes.Internal,
		swtls.StatusNullArgument:          codes.InvalidArgument,
		swtls.StatusInvalidMethod:         codes.InvalidArgument,
		swtls.StatusInvalidParameter:      codes.InvalidArgument,
		swtls.StatusConfigInvalidValue:    codes.FailedPrecondition,
		swtls.StatusFileNotFound:          codes.Unavailable,
		swtls.StatusKeyMismatch:           codes.Unavailable,
		swtls.StatusTLSUnknownIssuer:      codes.Unavailable,
		swtls.StatusServerRequiresTLS:     codes.Unavailable,
		swtls.StatusTLSHandshakeFailed:    codes.Unavailable,
		swtls.Status(999):                 codes.Unknown,
		swtls.StatusDeadlineExceeded:      codes.DeadlineExceeded,
		swtls.StatusFailedPrecondition:    codes.FailedPrecondition,
		swtls.StatusTLSClientCertRejected: codes.Unavailable,
	} {
		if got := Code(s); got != want {
			t.Errorf("Code(%v) = %v, want %v", s, got, want)
		}
	}

	c := makeCerts(t)
	srv := startServer(t, c, "")

	// A server certificate from another CA: Unavailable, the swtls code in the message and
	// reachable with errors.As.
	other := makeCerts(t)
	conn := newConn(t, srv.Addr, other)
	_, err := testpb.NewManagementServiceClient(conn).KeepAlive(shortCtx(t), &testpb.InstancePingPkg{})
	wantCode(t, err, codes.Unavailable, "TLS_UNKNOWN_ISSUER")
	var e *swtls.Error
	if !errors.As(err, &e) || !swtls.IsTLS(err) {
		t.Fatalf("the swtls error is not reachable: %#v", err)
	}

	// A method the server does not have: the server's Unimplemented.
	conn = newConn(t, srv.Addr, c)
	err = conn.Invoke(shortCtx(t), "/skywalking.v3.ManagementService/noSuchMethod", &testpb.InstancePingPkg{}, &testpb.Commands{})
	wantCode(t, err, codes.Unimplemented)
	// A malformed method path: the library refuses it.
	err = conn.Invoke(shortCtx(t), "not-a-path", &testpb.InstancePingPkg{}, &testpb.Commands{})
	wantCode(t, err, codes.InvalidArgument, "INVALID_METHOD")

	// A closed Conn: Canceled, as grpc-go's closing ClientConn.
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	err = conn.Invoke(shortCtx(t), "/skywalking.v3.ManagementService/keepAlive", &testpb.InstancePingPkg{}, &testpb.Commands{})
	wantCode(t, err, codes.Canceled, "closed")
	_, err = testpb.NewTraceSegmentReportServiceClient(conn).Collect(shortCtx(t))
	wantCode(t, err, codes.Canceled, "closed")
	if !swtls.IsClosed(err) {
		t.Fatalf("IsClosed(%v) is false", err)
	}
	if got := conn.GetState(); got != connectivity.Shutdown {
		t.Fatalf("state after Close: %v", got)
	}
}

// countingCodec is the proto codec, counting its uses.
type countingCodec struct {
	mu                   sync.Mutex
	marshals, unmarshals int
}

func (c *countingCodec) Marshal(v any) ([]byte, error) {
	c.mu.Lock()
	c.marshals++
	c.mu.Unlock()
	return proto.Marshal(v.(proto.Message))
}

func (c *countingCodec) Unmarshal(data []byte, v any) error {
	c.mu.Lock()
	c.unmarshals++
	c.mu.Unlock()
	return proto.Unmarshal(data, v.(proto.Message))
}

func (c *countingCodec) Name() string { return "counting" }

// Codecs are registered at init time only (encoding.RegisterCodec is not safe for
// concurrent use with the server's lookups).
func init() { encoding.RegisterCodec(&countingCodec{}) }

func TestCodecs(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, c, "")
	conn := newConn(t, srv.Addr, c)
	mgmt := testpb.NewManagementServiceClient(conn)

	// grpc.ForceCodec: the codec marshals and unmarshals (the wire stays protobuf here).
	cc := &countingCodec{}
	if _, err := mgmt.KeepAlive(shortCtx(t), &testpb.InstancePingPkg{Service: "svc"}, grpc.ForceCodec(cc)); err != nil {
		t.Fatal(err)
	}
	stream, err := testpb.NewTraceSegmentReportServiceClient(conn).Collect(shortCtx(t), grpc.ForceCodec(cc))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := stream.Send(segment(i, "svc")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if cc.marshals != 4 || cc.unmarshals != 2 {
		t.Fatalf("forced codec: %d marshals, %d unmarshals", cc.marshals, cc.unmarshals)
	}

	// grpc.CallContentSubtype: the codec registered under that name; an unknown name fails
	// as in grpc-go.
	if _, err := mgmt.KeepAlive(shortCtx(t), &testpb.InstancePingPkg{}, grpc.CallContentSubtype("counting")); err != nil {
		t.Fatal(err)
	}
	_, err = mgmt.KeepAlive(shortCtx(t), &testpb.InstancePingPkg{}, grpc.CallContentSubtype("no-such-codec"))
	wantCode(t, err, codes.Internal, "no-such-codec")

	// Default call options of the Conn apply first.
	dc := &countingCodec{}
	withDefaults := New(conn.Channel(), grpc.ForceCodec(dc))
	if _, err := testpb.NewManagementServiceClient(withDefaults).KeepAlive(shortCtx(t), &testpb.InstancePingPkg{}); err != nil {
		t.Fatal(err)
	}
	if dc.marshals != 1 || dc.unmarshals != 1 {
		t.Fatalf("default codec: %d marshals, %d unmarshals", dc.marshals, dc.unmarshals)
	}

	// A message the codec cannot marshal: Internal, nothing sent.
	calls := srv.keepAlives.Load()
	err = conn.Invoke(shortCtx(t), "/skywalking.v3.ManagementService/keepAlive", "not a proto message", &testpb.Commands{})
	wantCode(t, err, codes.Internal, "marshal")
	stream2, err := testpb.NewTraceSegmentReportServiceClient(conn).Collect(shortCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, stream2.SendMsg(42), codes.Internal, "marshal")
	wantCode(t, stream2.RecvMsg(new(testpb.Commands)), codes.Internal, "marshal")
	if srv.keepAlives.Load() != calls {
		t.Fatal("an unmarshallable request reached the server")
	}
}
