package swtls

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// waitCancelled waits until the server saw a call end with its context cancelled.
func waitCancelled(t *testing.T, srv *server) {
	t.Helper()
	select {
	case <-srv.cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not see the call cancelled")
	}
}

func TestMetadata(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c, token: "the-token"})
	ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir,
		"agent.authentication", "the-token")

	md := Metadata{"x-trace": {"a", "b"}, "blob-bin": {"\x00\xff\n"}, "empty": {""}}
	if _, err := ch.UnaryWith(shortCtx(t), keepAliveMethod, []byte("ping"), md); err != nil {
		t.Fatal(err)
	}
	got := srv.metadata()
	if !slices.Equal(got.Get("x-trace"), []string{"a", "b"}) || !slices.Equal(got.Get("blob-bin"), []string{"\x00\xff\n"}) ||
		!slices.Equal(got.Get("empty"), []string{""}) || !slices.Equal(got.Get("authentication"), []string{"the-token"}) {
		t.Fatalf("server saw metadata %v", got)
	}

	s, err := ch.OpenStreamWith(shortCtx(t), collectMethod, Metadata{"x-stream": {"s1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Finish(); err != nil || string(resp) != "1" {
		t.Fatalf("Finish: %q %v", resp, err)
	}
	got = srv.metadata()
	if !slices.Equal(got.Get("x-stream"), []string{"s1"}) || !slices.Equal(got.Get("authentication"), []string{"the-token"}) {
		t.Fatalf("server saw stream metadata %v", got)
	}

	// Keys and values the library refuses: nothing is sent, the message names the key.
	calls := srv.keepAlives.Load()
	for _, bad := range []Metadata{
		{"X-Upper": {"v"}},
		{"grpc-timeout": {"1S"}},
		{"content-type": {"text/plain"}},
		{"x-line": {"a\nb"}},
	} {
		for key := range bad {
			_, err := ch.UnaryWith(shortCtx(t), keepAliveMethod, nil, bad)
			wantStatus(t, err, StatusInvalidArgument, key)
			_, err = ch.OpenStreamWith(shortCtx(t), collectMethod, bad)
			wantStatus(t, err, StatusInvalidArgument, key)
		}
	}
	_, err = ch.UnaryWith(shortCtx(t), keepAliveMethod, nil, Metadata{"x\x00nul": {"v"}})
	wantStatus(t, err, StatusInvalidParameter, "NUL")
	if srv.keepAlives.Load() != calls {
		t.Fatal("a call with refused metadata reached the server")
	}
}

// Cancelling the context cancels the call in the library: the server sees it reset, and
// the call returns the context's error.
func TestCancelReachesTheServer(t *testing.T) {
	entered := make(chan struct{}, 1)
	srv := startServer(t, serverOptions{tls: serverPlaintext, entered: entered})
	ch := newChannel(t, "collector.backend_service", srv.Addr)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	start := time.Now()
	_, err := ch.UnaryWith(ctx, slowMethod, nil, Metadata{"x-a": {"1"}})
	if !errors.Is(err, context.Canceled) || StatusOf(err) != StatusCancelled {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	waitCancelled(t, srv)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the cancelled call took %v", d)
	}

	// A stream cancelled while Finish waits for the server's answer.
	sctx, scancel := context.WithCancel(context.Background())
	s, err := ch.OpenStream(sctx, slowCollectMethod)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte("x")); err != nil {
		t.Fatal(err)
	}
	go func() {
		<-entered
		scancel()
	}()
	if _, err := s.Finish(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish: want context.Canceled, got %v", err)
	}
	waitCancelled(t, srv)
	if _, err := s.Finish(); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Finish: %v", err)
	}

	// Close from another goroutine while Finish waits: Finish returns CANCELLED at once.
	s, err = ch.OpenStream(shortCtx(t), slowCollectMethod)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-entered
		s.Close()
	}()
	_, err = s.Finish()
	wantStatus(t, err, StatusCancelled)
	waitCancelled(t, srv)

	// The channel still works.
	if _, err := ch.Unary(shortCtx(t), keepAliveMethod, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConnectivity(t *testing.T) {
	srv := startServer(t, serverOptions{tls: serverPlaintext})
	cfg := newConfig(t, "collector.backend_service", srv.Addr)
	ch, err := NewChannel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.Connectivity(false); got != ConnectivityIdle {
		t.Fatalf("before any call: %v", got)
	}
	if _, err := ch.Unary(shortCtx(t), keepAliveMethod, nil); err != nil {
		t.Fatal(err)
	}
	if got := ch.Connectivity(false); got != ConnectivityReady {
		t.Fatalf("after a call: %v", got)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ch.Connectivity(true); got != ConnectivityShutdown || got.String() != "SHUTDOWN" {
		t.Fatalf("after Close: %v", got)
	}
}
