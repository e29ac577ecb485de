package swtls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// newConfig makes a configuration from key/value pairs; the ca folder defaults to an
// empty one so that nothing in the working directory changes the TLS mode.
func newConfig(t testing.TB, kv ...string) *Config {
	t.Helper()
	cfg, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cfg.Close)
	if err := cfg.Set("agent.ca_dir", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if err := cfg.Set(kv[i], kv[i+1]); err != nil {
			t.Fatalf("Set(%q, %q): %v", kv[i], kv[i+1], err)
		}
	}
	return cfg
}

func newChannel(t testing.TB, kv ...string) *Channel {
	t.Helper()
	ch, err := NewChannel(newConfig(t, kv...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ch.Shutdown(ctx)
	})
	return ch
}

// shortCtx bounds a call that should succeed quickly; the bound only keeps a broken run
// from hanging (it is never what a test asserts).
func shortCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// caOnly makes a ca folder holding only the CA certificate of c.
func caOnly(t testing.TB, c *certs) string {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(c.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantStatus checks that err is an *Error with code want and a message holding each of
// the fragments.
func wantStatus(t testing.TB, err error, want Status, fragments ...string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *swtls.Error with %v, got %T %v", want, err, err)
	}
	if e.Code != want {
		t.Fatalf("want %v, got %v (%s)", want, e.Code, e.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			t.Errorf("message %q does not mention %q", e.Message, f)
		}
	}
	return e
}

func checkInvariant(t testing.TB, s Stats) {
	t.Helper()
	if s.Queued != s.Acknowledged+s.Dropped()+s.Pending {
		t.Fatalf("queued %d != acknowledged %d + dropped %d (%d full, %d closed, %d server) + pending %d",
			s.Queued, s.Acknowledged, s.Dropped(), s.DroppedQueueFull, s.DroppedClosed, s.DroppedServerError, s.Pending)
	}
}

func TestVersionAndStatusNames(t *testing.T) {
	if v := Version(); !strings.HasPrefix(v, "swtls/") || !strings.Contains(v, "rustls/") {
		t.Fatalf("Version() = %q", v)
	}
	if got := StatusUnauthenticated.String(); got != "UNAUTHENTICATED" {
		t.Fatalf("StatusUnauthenticated = %q", got)
	}
	if got := StatusTLSUnknownIssuer.String(); got != "TLS_UNKNOWN_ISSUER" {
		t.Fatalf("StatusTLSUnknownIssuer = %q", got)
	}
	if got := Status(9999).String(); got != "UNRECOGNIZED" {
		t.Fatalf("Status(9999) = %q", got)
	}
	err := error(&Error{Code: StatusUnavailable, Message: "connection refused"})
	if got := err.Error(); got != "swtls: UNAVAILABLE: connection refused" {
		t.Fatalf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("keepAlive: %w", err)
	if !IsUnavailable(wrapped) || StatusOf(wrapped) != StatusUnavailable || StatusOf(nil) != StatusOK {
		t.Fatal("status helpers do not see through wrapping")
	}
	if StatusOf(errors.New("other")) != StatusUnknown || StatusOf(context.Canceled) != StatusCancelled {
		t.Fatal("StatusOf of foreign errors")
	}
}

// TestTLSModes makes a keepAlive call in each mode against grpc-go servers.
func TestTLSModes(t *testing.T) {
	c := makeCerts(t)
	cases := []struct {
		name   string
		server tlsKind
		caDir  string
		mode   TLSMode
	}{
		{"plaintext", serverPlaintext, t.TempDir(), TLSModePlaintext},
		{"tls", serverTLS, caOnly(t, c), TLSModeTLS},
		{"mutual-tls", serverMutualTLS, c.Dir, TLSModeMutualTLS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, serverOptions{tls: tc.server, certs: c})
			ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", tc.caDir)
			if ch.TLSMode() != tc.mode {
				t.Fatalf("mode %v, want %v (%s)", ch.TLSMode(), tc.mode, ch.TLSReason())
			}
			if ch.TLSReason() == "" {
				t.Fatal("empty TLS reason")
			}
			ping := []byte("\n\x03svc\x12\x04inst")
			resp, err := ch.Unary(shortCtx(t), keepAliveMethod, ping)
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("ack:"), ping...); !bytes.Equal(resp, want) {
				t.Fatalf("response %q, want %q", resp, want)
			}
			if n := srv.keepAlives.Load(); n != 1 {
				t.Fatalf("server answered %d keepAlives", n)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if !bytes.Equal(srv.lastPing, ping) {
				t.Fatalf("server got %q", srv.lastPing)
			}
			s, err := ch.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if s.TLSMode != tc.mode || s.Backend != srv.Addr {
				t.Fatalf("stats mode %v backend %q", s.TLSMode, s.Backend)
			}
		})
	}
}

func TestTLSFailures(t *testing.T) {
	c := makeCerts(t)
	t.Run("force TLS without CA against a private CA", func(t *testing.T) {
		srv := startServer(t, serverOptions{tls: serverTLS, certs: c})
		ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.force_tls", "true")
		if ch.TLSMode() != TLSModeTLSSystemRoots {
			t.Fatalf("mode %v (%s)", ch.TLSMode(), ch.TLSReason())
		}
		_, err := ch.Unary(shortCtx(t), keepAliveMethod, nil)
		e := wantStatus(t, err, StatusTLSUnknownIssuer, srv.Addr)
		if !IsTLS(err) {
			t.Fatal("IsTLS is false")
		}
		t.Logf("message: %s", e.Message)
		if srv.keepAlives.Load() != 0 {
			t.Fatal("the call reached the server")
		}
	})
	t.Run("mutual TLS server, no client certificate", func(t *testing.T) {
		srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c})
		ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", caOnly(t, c))
		_, err := ch.Unary(shortCtx(t), keepAliveMethod, nil)
		wantStatus(t, err, StatusTLSClientCertRequired)
	})
	t.Run("plaintext client, TLS server", func(t *testing.T) {
		srv := startServer(t, serverOptions{tls: serverTLS, certs: c})
		ch := newChannel(t, "collector.backend_service", srv.Addr)
		_, err := ch.Unary(shortCtx(t), keepAliveMethod, nil)
		wantStatus(t, err, StatusServerRequiresTLS)
	})
	t.Run("TLS client, plaintext server", func(t *testing.T) {
		srv := startServer(t, serverOptions{tls: serverPlaintext})
		ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", caOnly(t, c))
		_, err := ch.Unary(shortCtx(t), keepAliveMethod, nil)
		wantStatus(t, err, StatusServerNotTLS)
	})
}

func TestStream(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c})
	ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir)
	s, err := ch.OpenStream(shortCtx(t), collectMethod)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := s.Send([]byte(fmt.Sprintf("segment-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := s.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if string(resp) != "5" || srv.received.Load() != 5 || srv.streams.Load() != 1 {
		t.Fatalf("response %q, server received %d on %d streams", resp, srv.received.Load(), srv.streams.Load())
	}
	_, err = s.Finish()
	wantStatus(t, err, StatusClosed)
	wantStatus(t, s.Send([]byte("late")), StatusClosed)
	s.Close() // after Finish: nothing left to release

	// A stream closed before Finish is cancelled: the server does not count it.
	s2, err := ch.OpenStream(shortCtx(t), collectMethod)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Send([]byte("x")); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	s2.Close()
	if _, err := s2.Finish(); !IsClosed(err) {
		t.Fatalf("Finish after Close: %v", err)
	}
	if srv.streams.Load() != 1 {
		t.Fatalf("a cancelled stream was committed (%d streams)", srv.streams.Load())
	}
}

func TestReport(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c})
	ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir)
	const n = 300
	for i := 0; i < n; i++ {
		if err := ch.Report(collectMethod, []byte(fmt.Sprintf("segment-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Flush(shortCtx(t)); err != nil {
		t.Fatal(err)
	}
	s, err := ch.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, s)
	if s.Queued != n || s.Acknowledged != n || s.Pending != 0 || s.Dropped() != 0 || s.Sent != n {
		t.Fatalf("after flush: %+v", s)
	}
	if s.BytesSent == 0 || s.TLSMode != TLSModeMutualTLS {
		t.Fatalf("stats: %+v", s)
	}
	if got := srv.received.Load(); got != n {
		t.Fatalf("server received %d of %d", got, n)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	final, err := ch.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, final)
	if final.Acknowledged != n {
		t.Fatalf("final stats: %+v", final)
	}
}

func TestReportQueueFullAndClose(t *testing.T) {
	// Nothing listens on this port: messages stay queued until Close drops them.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	ch := newChannel(t, "collector.backend_service", addr, "swtls.report_queue_messages", "10")
	full := 0
	for i := 0; i < 50; i++ {
		err := ch.Report(collectMethod, []byte("segment"))
		switch {
		case err == nil:
		case IsQueueFull(err):
			full++
			wantStatus(t, err, StatusResourceExhausted)
		default:
			t.Fatal(err)
		}
	}
	s, err := ch.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, s)
	if full == 0 || s.DroppedQueueFull != uint64(full) || s.Queued != 50 {
		t.Fatalf("%d refused as full; stats %+v", full, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ch.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown delivered to a closed port")
	}
	final, err := ch.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, final)
	if final.Pending != 0 || final.Acknowledged != 0 || final.DroppedClosed+final.DroppedServerError+final.DroppedQueueFull != 50 {
		t.Fatalf("final stats: %+v", final)
	}
}

func TestRefusedToken(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c, token: "right-token"})

	good := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir,
		"agent.authentication", "right-token")
	if _, err := good.Unary(shortCtx(t), keepAliveMethod, nil); err != nil {
		t.Fatal(err)
	}

	bad := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir,
		"agent.authentication", "wrong-token")
	_, err := bad.Unary(shortCtx(t), keepAliveMethod, nil)
	e := wantStatus(t, err, StatusUnauthenticated)
	if !IsUnauthenticated(err) || strings.Contains(e.Message, "wrong-token") {
		t.Fatalf("message repeats the token or helper fails: %s", e.Message)
	}
	if err := bad.Report(collectMethod, []byte("segment")); err != nil {
		t.Fatal(err)
	}
	err = bad.Flush(shortCtx(t))
	wantStatus(t, err, StatusUnauthenticated)
	s, err := bad.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, s)
	if s.Acknowledged != 0 || s.DroppedServerError != 1 || s.FailedStreams == 0 {
		t.Fatalf("stats after a refused token: %+v", s)
	}
	if srv.keepAlives.Load() != 1 || srv.received.Load() != 0 {
		t.Fatalf("server answered %d keepAlives, received %d messages", srv.keepAlives.Load(), srv.received.Load())
	}
}

func TestBadConfiguration(t *testing.T) {
	cfg := newConfig(t)
	wantStatus(t, cfg.Set("collector.no_such_key", "1"), StatusConfigUnknownKey, "collector.no_such_key")
	wantStatus(t, cfg.Set("collector.grpc_upstream_timeout", "soon"), StatusConfigInvalidValue,
		"collector.grpc_upstream_timeout", "soon")
	wantStatus(t, cfg.Set("agent.force_tls", "maybe"), StatusConfigInvalidValue, "maybe")
	wantStatus(t, cfg.Set("collector.backend_service", "oap:11800,nohost"), StatusConfigInvalidBackend, "nohost")
	wantStatus(t, cfg.Set("agent.ca_dir", "ca\x00dir"), StatusInvalidParameter, "NUL")
	if err := cfg.Set("collector.grpc_upstream_timeout", "5"); err != nil {
		t.Fatal(err)
	}
	if !IsConfig(cfg.Set("collector.no_such_key", "1")) {
		t.Fatal("IsConfig is false for an unknown key")
	}

	t.Setenv("SW_AGENT_FORCE_TLS", "maybe")
	wantStatus(t, cfg.LoadEnv(), StatusConfigInvalidValue, "SW_AGENT_FORCE_TLS", "maybe")
}

func TestBadFiles(t *testing.T) {
	c := makeCerts(t)
	missing := filepath.Join(t.TempDir(), "nowhere", "ca.crt")
	_, err := NewChannel(newConfig(t, "agent.ssl_trusted_ca_path", missing))
	wantStatus(t, err, StatusFileNotFound, missing)

	// Only the client certificate: fail closed, naming the missing key.
	dir := caOnly(t, c)
	data, err := os.ReadFile(filepath.Join(c.Dir, "client.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.crt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewChannel(newConfig(t, "agent.ca_dir", dir))
	wantStatus(t, err, StatusClientCertIncomplete, "client.pem")

	// A key that is not a key.
	if err := os.WriteFile(filepath.Join(dir, "client.pem"), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewChannel(newConfig(t, "agent.ca_dir", dir))
	wantStatus(t, err, StatusPrivateKeyInvalid, "client.pem")
}

func TestBadMethodAndUseAfterClose(t *testing.T) {
	srv := startServer(t, serverOptions{tls: serverPlaintext})
	ch := newChannel(t, "collector.backend_service", srv.Addr)
	ctx := shortCtx(t)
	_, err := ch.Unary(ctx, "keepAlive", nil)
	wantStatus(t, err, StatusInvalidMethod, "keepAlive")
	wantStatus(t, ch.Report("/no-service", nil), StatusInvalidMethod, "/no-service")
	_, err = ch.OpenStream(ctx, "collect")
	wantStatus(t, err, StatusInvalidMethod, "collect")
	_, err = ch.Unary(ctx, "/skywalking.v3.ManagementService/nothing", nil)
	wantStatus(t, err, StatusUnimplemented)
	// Longer than the binding's stack buffers: copied through the heap, unchanged.
	long := "/skywalking.v3.ManagementService/" + strings.Repeat("x", 400)
	_, err = ch.Unary(ctx, long, nil)
	wantStatus(t, err, StatusUnimplemented, strings.Repeat("x", 400))
	wantStatus(t, newConfig(t).Set("agent.ssl_target_name_override", strings.Repeat("n", 600)),
		StatusConfigInvalidValue, strings.Repeat("n", 600))

	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = ch.Unary(ctx, keepAliveMethod, nil)
	wantStatus(t, err, StatusClosed)
	wantStatus(t, ch.Report(collectMethod, []byte("x")), StatusClosed)
	wantStatus(t, ch.Flush(ctx), StatusClosed)
	_, err = ch.OpenStream(ctx, collectMethod)
	wantStatus(t, err, StatusClosed)
	if _, err := ch.Stats(); err != nil {
		t.Fatalf("Stats after Close: %v", err)
	}
	if ch.TLSMode() != TLSModePlaintext {
		t.Fatal("TLSMode after Close")
	}

	cfg := newConfig(t)
	cfg.Close()
	cfg.Close()
	wantStatus(t, cfg.Set("agent.force_tls", "true"), StatusClosed)
	wantStatus(t, cfg.LoadEnv(), StatusClosed)
	_, err = NewChannel(cfg)
	wantStatus(t, err, StatusClosed)
}

func TestLoadEnv(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c, token: "env-token"})
	t.Setenv("SW_AGENT_COLLECTOR_BACKEND_SERVICES", srv.Addr)
	t.Setenv("SWTLS_CA_DIR", c.Dir)
	t.Setenv("SW_AGENT_AUTHENTICATION", "env-token")
	cfg, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.LoadEnv(); err != nil {
		t.Fatal(err)
	}
	ch, err := NewChannel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if ch.TLSMode() != TLSModeMutualTLS {
		t.Fatalf("mode %v (%s)", ch.TLSMode(), ch.TLSReason())
	}
	if _, err := ch.Unary(shortCtx(t), keepAliveMethod, nil); err != nil {
		t.Fatal(err)
	}
}

func TestContextDeadline(t *testing.T) {
	srv := startServer(t, serverOptions{tls: serverPlaintext})
	ch := newChannel(t, "collector.backend_service", srv.Addr)
	// The deadline is the same for the context and the library; whichever notices it
	// first, the call ends with DEADLINE_EXCEEDED, and the connection stays up.
	var ctx context.Context
	for i := 0; i < 4; i++ {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := ch.Unary(ctx, slowMethod, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !IsDeadlineExceeded(err) {
			t.Fatalf("call %d: want a deadline error, got %v", i, err)
		}
	}
	if s, err := ch.Stats(); err != nil || s.Reconnects != 0 {
		t.Fatalf("a deadline tore the connection down: %+v %v", s, err)
	}

	// A context that ended already: no call is made.
	_, err := ch.Unary(ctx, keepAliveMethod, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v", err)
	}
	if srv.keepAlives.Load() != 0 {
		t.Fatal("a call with an expired context reached the server")
	}
}

func TestContextCancel(t *testing.T) {
	srv := startServer(t, serverOptions{tls: serverPlaintext, entered: make(chan struct{}, 1)})
	ch := newChannel(t, "collector.backend_service", srv.Addr)

	// The slow call is inside the server when the context is cancelled; Unary returns at
	// once, while the server is still blocked.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-srv.entered
		cancel()
	}()
	_, err := ch.Unary(ctx, slowMethod, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	select {
	case <-srv.release:
		t.Fatal("the server was released before Unary returned")
	default:
	}
	srv.unblock()

	// Cancelling the context of a stream cancels the stream.
	sctx, scancel := context.WithCancel(context.Background())
	s, err := ch.OpenStream(sctx, collectMethod)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte("x")); err != nil {
		t.Fatal(err)
	}
	scancel()
	if err := s.Send([]byte("y")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send after cancel: %v", err)
	}
	if _, err := s.Finish(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish after cancel: %v", err)
	}
	if srv.streams.Load() != 0 {
		t.Fatal("a cancelled stream was committed")
	}

	// Flush with nothing reachable returns when its context is cancelled.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	dead := newChannel(t, "collector.backend_service", addr)
	if err := dead.Report(collectMethod, []byte("x")); err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, fcancel)
	if err := dead.Flush(fctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush: %v", err)
	}
}

func TestStreamDeadline(t *testing.T) {
	srv := startServer(t, serverOptions{tls: serverPlaintext})
	ch := newChannel(t, "collector.backend_service", srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s, err := ch.OpenStream(ctx, collectMethod)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte("x")); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if err := s.Send([]byte("y")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send after the deadline: %v", err)
	}
	if _, err := s.Finish(); !IsDeadlineExceeded(err) {
		t.Fatalf("Finish after the deadline: %v", err)
	}
	if srv.streams.Load() != 0 {
		t.Fatal("a stream past its deadline was committed")
	}
}

func TestLogger(t *testing.T) {
	var mu sync.Mutex
	var got []string
	err := SetLogger(func(level LogLevel, msg string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, level.String()+": "+msg)
	}, LogInfo)
	if err != nil {
		t.Fatal(err)
	}
	defer SetLogger(nil, LogWarn)
	ch := newChannel(t)
	mu.Lock()
	found := false
	for _, m := range got {
		if strings.HasPrefix(m, "info: ") && strings.Contains(m, ch.TLSReason()) {
			found = true
		}
	}
	mu.Unlock()
	if !found {
		t.Fatalf("the TLS reason %q was not logged at info level; got %q", ch.TLSReason(), got)
	}
	wantStatus(t, SetLogger(func(LogLevel, string) {}, 9), StatusInvalidParameter, "9")
}

// TestConcurrentUse reports, calls and closes from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	c := makeCerts(t)
	srv := startServer(t, serverOptions{tls: serverMutualTLS, certs: c})
	ch := newChannel(t, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir)
	const workers, reports, calls = 8, 50, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*(reports+calls))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < reports; i++ {
				if err := ch.Report(collectMethod, []byte(fmt.Sprintf("w%d-%d", w, i))); err != nil {
					errs <- err
				}
			}
			for i := 0; i < calls; i++ {
				if _, err := ch.Unary(shortCtx(t), keepAliveMethod, []byte{byte(w)}); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := ch.Flush(shortCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := srv.received.Load(); got != workers*reports {
		t.Fatalf("server received %d", got)
	}
	if got := srv.keepAlives.Load(); got != workers*calls {
		t.Fatalf("server answered %d keepAlives", got)
	}

	// Close while goroutines keep reporting: each of them ends with StatusClosed.
	var stop sync.WaitGroup
	started := make(chan struct{}, workers)
	for w := 0; w < workers; w++ {
		stop.Add(1)
		go func() {
			defer stop.Done()
			started <- struct{}{}
			for {
				err := ch.Report(collectMethod, []byte("late"))
				if IsClosed(err) {
					return
				}
				if err != nil && !IsQueueFull(err) {
					t.Error(err)
					return
				}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		<-started
	}
	if err := ch.Shutdown(shortCtx(t)); err != nil {
		t.Logf("Shutdown: %v", err)
	}
	stop.Wait()
	s, err := ch.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, s)
	if s.Pending != 0 {
		t.Fatalf("pending after close: %+v", s)
	}
}

// TestErrorMessagesPerGoroutine: the message of each failure is that call's, even when
// goroutines fail at once on shared OS threads (the last error is per thread).
func TestErrorMessagesPerGoroutine(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		cfg := newConfig(t)
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				key := fmt.Sprintf("bad.key.%d.%d", g, i)
				var e *Error
				err := cfg.Set(key, "1")
				if !errors.As(err, &e) || !strings.HasPrefix(e.Message, "unknown configuration key '"+key+"'") {
					t.Errorf("Set(%q): %v", key, err)
					return
				}
				if i%50 == 0 {
					runtime.Gosched()
				}
			}
		}(g)
	}
	wg.Wait()
}
