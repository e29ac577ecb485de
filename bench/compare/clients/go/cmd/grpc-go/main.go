// grpc-go: the benchmark client over grpc-go with mutual TLS (credentials.NewTLS: trust
// ca.crt only, present client.crt/client.pem; the server name comes from the target), a
// pass-through []byte codec, conn.NewStream + SendMsg + CloseSend + RecvMsg for the client
// stream and conn.Invoke for unary calls.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/mem"

	"swtls.bench/compare/bench"
)

func main() {
	start := time.Now() // the first workload measures from here
	bench.Main(start, "grpc-go", connect)
}

// rawCodec passes *[]byte through without copying. Its name gives the content-type
// application/grpc+proto, which every gRPC server accepts (the keepAlive request is a
// protobuf message; the sink's Echo service takes the bytes as they are).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

type client struct{ conn *grpc.ClientConn }

func connect(o *bench.Options) (bench.Client, error) {
	caPEM, err := os.ReadFile(filepath.Join(o.Certs, "ca.crt"))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no PEM certificate", filepath.Join(o.Certs, "ca.crt"))
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(o.Certs, "client.crt"), filepath.Join(o.Certs, "client.pem"))
	if err != nil {
		return nil, fmt.Errorf("client.crt/client.pem in %s: %w", o.Certs, err)
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}})
	conn, err := grpc.NewClient(o.Target,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		return nil, err
	}
	return client{conn}, nil
}

func (c client) KeepAlive(ctx context.Context) error {
	req, resp := bench.Ping, []byte(nil)
	return c.conn.Invoke(ctx, bench.KeepAliveMethod, &req, &resp)
}

var collectDesc = grpc.StreamDesc{StreamName: "collect", ClientStreams: true}

func (c client) OpenStream(ctx context.Context) (bench.Stream, error) {
	s, err := c.conn.NewStream(ctx, &collectDesc, bench.CollectMethod)
	if err != nil {
		return nil, err
	}
	return stream{s}, nil
}

func (c client) Close() error { return c.conn.Close() }

type stream struct{ s grpc.ClientStream }

// Send passes the caller's slice; the bench never modifies it after sending.
func (s stream) Send(msg []byte) error { return s.s.SendMsg(&msg) }

func (s stream) CloseAndRecv() ([]byte, error) {
	if err := s.s.CloseSend(); err != nil {
		return nil, err
	}
	var answer []byte
	if err := s.s.RecvMsg(&answer); err != nil {
		return nil, err
	}
	return answer, nil
}
