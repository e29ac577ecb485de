// swtls-go: the benchmark client over the swtls Go binding (bindings/go), configured as
// an agent is: the backend address and the ca folder (ca.crt, client.crt, client.pem),
// which makes the library choose mutual TLS and verify the server against the target host.
package main

import (
	"context"
	"fmt"
	"time"

	swtls "github.com/apache/skywalking-swtls/bindings/go"

	"swtls.bench/compare/bench"
)

func main() {
	start := time.Now() // the first workload measures from here
	bench.Main(start, "swtls-go", connect)
}

type client struct{ ch *swtls.Channel }

func connect(o *bench.Options) (bench.Client, error) {
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
	return client{ch}, nil
}

func (c client) KeepAlive(ctx context.Context) error {
	_, err := c.ch.Unary(ctx, bench.KeepAliveMethod, bench.Ping)
	return err
}

func (c client) OpenStream(ctx context.Context) (bench.Stream, error) {
	s, err := c.ch.OpenStream(ctx, bench.CollectMethod)
	if err != nil {
		return nil, err
	}
	return stream{s}, nil
}

func (c client) Close() error { return c.ch.Close() }

type stream struct{ s *swtls.Stream }

func (s stream) Send(msg []byte) error         { return s.s.Send(msg) }
func (s stream) CloseAndRecv() ([]byte, error) { return s.s.Finish() }
