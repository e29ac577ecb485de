// swtls-go-stubs: the swtls-go workloads through protoc-gen-go-grpc stubs (package pb) on
// the swtls Go binding's grpc.ClientConnInterface (bindings/go/grpcconn), as an agent
// written against generated clients would run on swtls: the channel configured as
// swtls-go's, ManagementServiceClient.KeepAlive with an InstancePingPkg for unary calls,
// EchoClient.Collect with one Blob per message (proto-marshalled in the timed Send) for
// the client stream.
package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
	"github.com/apache/skywalking-swtls/bindings/go/grpcconn"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"

	"swtls.bench/compare/bench"
	"swtls.bench/compare/pb"
)

func main() {
	start := time.Now() // the first workload measures from here
	bench.Main(start, "swtls-go-stubs", connect)
}

type client struct {
	conn *grpcconn.Conn
	mgmt pb.ManagementServiceClient
	echo pb.EchoClient
}

func connect(o *bench.Options) (bench.Client, error) {
	if b, err := protobuf.Marshal(ping); err != nil || !bytes.Equal(b, bench.Ping) {
		return nil, fmt.Errorf("the InstancePingPkg encodes to %x (%v), not to bench.Ping %x", b, err, bench.Ping)
	}
	cfg, err := swtls.NewConfig()
	if err != nil {
		return nil, err
	}
	defer cfg.Close() // the channel keeps its own copy
	for _, kv := range [][2]string{{"collector.backend_service", o.Target}, {"agent.ca_dir", o.Certs}} {
		if err := cfg.Set(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	ch, err := swtls.NewChannel(cfg)
	if err != nil {
		return nil, err
	}
	if ch.TLSMode() != swtls.TLSModeMutualTLS {
		ch.Close()
		return nil, fmt.Errorf("expected mutual TLS from %s, the library chose %v (%s)", o.Certs, ch.TLSMode(), ch.TLSReason())
	}
	conn := grpcconn.New(ch)
	return client{conn: conn, mgmt: pb.NewManagementServiceClient(conn), echo: pb.NewEchoClient(conn)}, nil
}

// ping encodes to the bytes of bench.Ping (connect checks it).
var ping = &pb.InstancePingPkg{Service: "bench", ServiceInstance: "bench-1"}

func (c client) KeepAlive(ctx context.Context) error {
	_, err := c.mgmt.KeepAlive(ctx, ping)
	return err
}

func (c client) OpenStream(ctx context.Context) (bench.Stream, error) {
	s, err := c.echo.Collect(ctx, grpc.ForceCodecV2(countCodec{}))
	if err != nil {
		return nil, err
	}
	return &stream{s: s}, nil
}

func (c client) Close() error { return c.conn.Close() }

type stream struct {
	s      grpc.ClientStreamingClient[pb.Blob, pb.Count]
	size   int // the message size header is sized for
	header int // bytes of the Blob's encoding before data
}

// Send sends msg as a Blob whose encoding is exactly len(msg) bytes: the field's tag and
// length, then the end of msg as data.
func (s *stream) Send(msg []byte) error {
	if len(msg) != s.size || s.header == 0 {
		h, err := blobHeader(len(msg))
		if err != nil {
			return err
		}
		s.size, s.header = len(msg), h
	}
	return s.s.Send(&pb.Blob{Data: msg[s.header:]})
}

func (s *stream) CloseAndRecv() ([]byte, error) {
	count, err := s.s.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return []byte(count.GetText()), nil
}

// blobHeader returns the bytes before data in the encoding of a Blob of n bytes in all:
// one tag byte and the varint of the data's length.
func blobHeader(n int) (int, error) {
	for h := 2; h <= 11 && h < n; h++ {
		d := n - h
		if 1+varintLen(d) == h {
			return h, nil
		}
	}
	return 0, fmt.Errorf("no Blob encodes to exactly %d bytes (use --size 3 or more)", n)
}

func varintLen(v int) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// countCodec is the proto codec, except that it reads the sink's answer to a collect
// stream, the ASCII text "MESSAGES BYTES" (not a protobuf encoding), into Count.text.
type countCodec struct{}

func (countCodec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2(proto.Name).Marshal(v)
}

func (countCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if c, ok := v.(*pb.Count); ok {
		c.Text = string(data.Materialize())
		return nil
	}
	return encoding.GetCodecV2(proto.Name).Unmarshal(data, v)
}

func (countCodec) Name() string { return proto.Name }
