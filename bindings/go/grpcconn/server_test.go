package grpcconn

// The test peer: a grpc-go server on loopback with mutual TLS (certificates made with
// crypto/x509, as in the core binding's server_test.go), serving SkyWalking's keepAlive and
// collect through the protoc-gen-go-grpc code of internal/testpb, optionally requiring an
// authentication token.

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
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/skywalking-swtls/bindings/go/grpcconn/internal/testpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// certs is a private CA with a server certificate for 127.0.0.1/localhost and a client
// certificate, written as an agent's ca folder (ca.crt, client.crt, client.pem) in Dir.
type certs struct {
	Dir        string
	CAPool     *x509.CertPool
	ServerCert tls.Certificate
}

var serial atomic.Int64

func makeCerts(t testing.TB) *certs {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	writePEM := func(name, typ string, der []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: "swtls-grpcconn-test CA"},
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
		key := newKey()
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
	clientDER, clientKey := leaf("swtls-grpcconn-test agent", x509.ExtKeyUsageClientAuth, false)
	writePEM("ca.crt", "CERTIFICATE", caDER, 0o644)
	writePEM("client.crt", "CERTIFICATE", clientDER, 0o644)
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM("client.pem", "PRIVATE KEY", keyDER, 0o600)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &certs{Dir: dir, CAPool: pool,
		ServerCert: tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}}
}

// slowService is the InstancePingPkg.service (or SegmentObject.service of a stream's first
// segment) that makes the server wait until the test releases it or the call ends.
const slowService = "slow"

// server is a running grpc-go server with the generated SkyWalking services.
type server struct {
	testpb.UnimplementedManagementServiceServer
	testpb.UnimplementedTraceSegmentReportServiceServer

	Addr string

	keepAlives atomic.Int64
	streams    atomic.Int64 // collect streams answered with OK
	received   atomic.Int64 // segments received

	mu       sync.Mutex
	pings    []*testpb.InstancePingPkg
	segments []*testpb.SegmentObject
	lastMD   metadata.MD

	entered   chan struct{} // a value each time a slow call waits
	cancelled chan struct{} // a value each time a slow call ends with its context cancelled
	release   chan struct{}
}

func startServer(t testing.TB, c *certs, token string) *server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{Addr: lis.Addr().String(), entered: make(chan struct{}, 16), cancelled: make(chan struct{}, 16),
		release: make(chan struct{})}
	cfg := &tls.Config{Certificates: []tls.Certificate{c.ServerCert}, MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: c.CAPool}
	opts := []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}
	if token != "" {
		check := func(ctx context.Context) error {
			md, _ := metadata.FromIncomingContext(ctx)
			if got := md.Get("authentication"); len(got) != 1 || got[0] != token {
				return status.Error(codes.Unauthenticated, "invalid authentication token")
			}
			return nil
		}
		opts = append(opts,
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
	g := grpc.NewServer(opts...)
	testpb.RegisterManagementServiceServer(g, srv)
	testpb.RegisterTraceSegmentReportServiceServer(g, srv)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(func() {
		srv.unblock()
		g.Stop()
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

func (s *server) metadata() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastMD
}

// wait blocks a slow call until the test releases it or the call ends.
func (s *server) wait(ctx context.Context) error {
	s.entered <- struct{}{}
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			s.cancelled <- struct{}{}
		}
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (s *server) KeepAlive(ctx context.Context, ping *testpb.InstancePingPkg) (*testpb.Commands, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.pings = append(s.pings, ping)
	s.lastMD = md
	s.mu.Unlock()
	if ping.GetService() == slowService {
		if err := s.wait(ctx); err != nil {
			return nil, err
		}
	}
	s.keepAlives.Add(1)
	return &testpb.Commands{Commands: []*testpb.Command{{
		Command: "ack",
		Args:    []*testpb.KeyStringValuePair{{Key: "instance", Value: ping.GetServiceInstance()}},
	}}}, nil
}

func (s *server) Collect(stream grpc.ClientStreamingServer[testpb.SegmentObject, testpb.Commands]) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.mu.Lock()
	s.lastMD = md
	s.mu.Unlock()
	n, slow := 0, false
	for {
		seg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 && seg.GetService() == slowService {
			slow = true
		}
		n++
		s.received.Add(1)
		s.mu.Lock()
		s.segments = append(s.segments, seg)
		s.mu.Unlock()
	}
	if slow {
		if err := s.wait(stream.Context()); err != nil {
			return err
		}
	}
	s.streams.Add(1)
	return stream.SendAndClose(&testpb.Commands{Commands: []*testpb.Command{{
		Command: "received",
		Args:    []*testpb.KeyStringValuePair{{Key: "segments", Value: strconv.Itoa(n)}},
	}}})
}
