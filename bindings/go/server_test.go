package swtls

// The test peer: a grpc-go server on loopback serving the two SkyWalking methods the
// tests call, with raw-bytes messages (no generated code), optionally TLS or mutual TLS
// with certificates the tests make with crypto/x509, and optionally an authentication
// token.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	keepAliveMethod = "/skywalking.v3.ManagementService/keepAlive"
	collectMethod   = "/skywalking.v3.TraceSegmentReportService/collect"
	slowMethod      = "/skywalking.v3.ManagementService/slow"
	// slowCollectMethod reads a client stream to its end, then waits for release.
	slowCollectMethod = "/skywalking.v3.TraceSegmentReportService/slowCollect"
)

// rawCodec passes messages through as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case *[]byte:
		return *m, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*m = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// certs is a private CA with a server certificate for 127.0.0.1/localhost and a client
// certificate, written as an agent's ca folder (ca.crt, client.crt, client.pem) in Dir.
type certs struct {
	Dir        string // the agent's ca folder
	CAPool     *x509.CertPool
	ServerCert tls.Certificate
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

var serial atomic.Int64

// makeCerts generates a CA, a server and a client certificate into a new folder.
func makeCerts(t testing.TB) *certs {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: "swtls-go-test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(cn string, usage x509.ExtKeyUsage, server bool) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial.Add(1)),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := leaf("localhost", x509.ExtKeyUsageServerAuth, true)
	clientDER, clientKey := leaf("swtls-go-test agent", x509.ExtKeyUsageClientAuth, false)

	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER, 0o644)
	writePEM(t, filepath.Join(dir, "client.crt"), "CERTIFICATE", clientDER, 0o644)
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "client.pem"), "PRIVATE KEY", keyDER, 0o600)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &certs{
		Dir:        dir,
		CAPool:     pool,
		ServerCert: tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey},
	}
}

type tlsKind int

const (
	serverPlaintext tlsKind = iota
	serverTLS               // one-way: the server does not ask for a client certificate
	serverMutualTLS         // the server requires a client certificate from its CA
)

// server is a running grpc-go test server.
type server struct {
	Addr string
	grpc *grpc.Server

	keepAlives atomic.Int64 // keepAlive calls answered
	received   atomic.Int64 // messages received on collect streams
	streams    atomic.Int64 // collect streams answered with OK

	mu       sync.Mutex
	lastPing []byte
	lastMD   metadata.MD // the request metadata of the last keepAlive or collect call
	// cancelled receives a value each time a call of the slow methods ends with its
	// context cancelled (the client reset it).
	cancelled chan struct{}
	// release unblocks the slow method (closed by the test).
	release chan struct{}
	// entered, when set, receives a value each time the slow method is entered.
	entered chan struct{}
}

type serverOptions struct {
	tls   tlsKind
	certs *certs
	token string // required authentication metadata, "" for none
	// entered, when set, receives a value each time the slow method is entered.
	entered chan struct{}
}

func startServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{Addr: lis.Addr().String(), release: make(chan struct{}), entered: opts.entered,
		cancelled: make(chan struct{}, 16)}
	gopts := []grpc.ServerOption{grpc.ForceServerCodec(rawCodec{})}
	switch opts.tls {
	case serverTLS, serverMutualTLS:
		cfg := &tls.Config{Certificates: []tls.Certificate{opts.certs.ServerCert}, MinVersion: tls.VersionTLS12}
		if opts.tls == serverMutualTLS {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			cfg.ClientCAs = opts.certs.CAPool
		}
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	if opts.token != "" {
		check := func(ctx context.Context) error {
			md, _ := metadata.FromIncomingContext(ctx)
			if got := md.Get("authentication"); len(got) != 1 || got[0] != opts.token {
				return status.Error(codes.Unauthenticated, "invalid authentication token")
			}
			return nil
		}
		gopts = append(gopts,
			grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := check(ctx); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}),
			grpc.StreamInterceptor(func(s any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := check(ss.Context()); err != nil {
					return err
				}
				return h(s, ss)
			}))
	}
	srv.grpc = grpc.NewServer(gopts...)
	srv.grpc.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skywalking.v3.ManagementService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "keepAlive", Handler: srv.keepAlive},
			{MethodName: "slow", Handler: srv.slow},
		},
	}, srv)
	srv.grpc.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skywalking.v3.TraceSegmentReportService",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{
			{StreamName: "collect", ClientStreams: true, Handler: srv.collect},
			{StreamName: "slowCollect", ClientStreams: true, Handler: srv.slowCollect},
		},
	}, srv)
	go func() { _ = srv.grpc.Serve(lis) }()
	t.Cleanup(func() {
		srv.unblock()
		srv.grpc.Stop()
	})
	return srv
}

func (s *server) unblock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

func unaryIn(dec func(any) error, interceptor grpc.UnaryServerInterceptor, ctx context.Context, srv any,
	method string, h func(context.Context, []byte) ([]byte, error)) (any, error) {
	var in []byte
	if err := dec(&in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return h(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: method},
		func(ctx context.Context, req any) (any, error) { return h(ctx, req.([]byte)) })
}

// keepAlive answers with "ack:" and the request, so that tests see both directions.
func (s *server) keepAlive(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
	return unaryIn(dec, ic, ctx, srv, keepAliveMethod, func(ctx context.Context, in []byte) ([]byte, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		s.mu.Lock()
		s.lastPing = in
		s.lastMD = md
		s.mu.Unlock()
		s.keepAlives.Add(1)
		return append([]byte("ack:"), in...), nil
	})
}

// slow blocks until the test releases it or the call ends.
func (s *server) slow(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
	return unaryIn(dec, ic, ctx, srv, slowMethod, func(ctx context.Context, in []byte) ([]byte, error) {
		if s.entered != nil {
			select {
			case s.entered <- struct{}{}:
			default:
			}
		}
		select {
		case <-s.release:
			return []byte("released"), nil
		case <-ctx.Done():
			s.noteCancelled(ctx)
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	})
}

func (s *server) noteCancelled(ctx context.Context) {
	if errors.Is(ctx.Err(), context.Canceled) {
		select {
		case s.cancelled <- struct{}{}:
		default:
		}
	}
}

func (s *server) metadata() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastMD
}

// collect counts the messages of a stream and answers with their number as text.
func (s *server) collect(_ any, stream grpc.ServerStream) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.mu.Lock()
	s.lastMD = md
	s.mu.Unlock()
	n := 0
	for {
		var m []byte
		err := stream.RecvMsg(&m)
		if errors.Is(err, io.EOF) {
			s.streams.Add(1)
			return stream.SendMsg([]byte(fmt.Sprintf("%d", n)))
		}
		if err != nil {
			return err
		}
		n++
		s.received.Add(1)
	}
}

// slowCollect reads a stream to its end, then blocks until the test releases it or the
// call ends.
func (s *server) slowCollect(_ any, stream grpc.ServerStream) error {
	for {
		var m []byte
		err := stream.RecvMsg(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.noteCancelled(stream.Context())
			return err
		}
	}
	if s.entered != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
	select {
	case <-s.release:
		return stream.SendMsg([]byte("released"))
	case <-stream.Context().Done():
		s.noteCancelled(stream.Context())
		return status.FromContextError(stream.Context().Err()).Err()
	}
}
