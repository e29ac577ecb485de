// Command agent is a small SkyWalking agent loop over the swtls Go binding: it sends a
// keepAlive (ManagementService/keepAlive) and reports trace segments
// (TraceSegmentReportService/collect) through the library's queue, configured only from
// the standard environment, as agents are:
//
//	SW_AGENT_COLLECTOR_BACKEND_SERVICES  backends, e.g. oap:11800 (default 127.0.0.1:11800)
//	SWTLS_CA_DIR                         the ca folder: ca.crt, client.crt, client.pem
//	SW_AGENT_FORCE_TLS, SW_AGENT_AUTHENTICATION, SW_AGENT_SSL_* ...  (see the README)
//	SW_AGENT_NAME                        the service name (default go-demo-service)
//	SW_AGENT_INSTANCE_NAME               the instance name (default go-demo-instance)
//
// Usage: agent [-rounds N] [-segments N] [-interval D]
//
// Each round sends one keepAlive and reports -segments segments; after the last round the
// agent flushes, closes the channel and prints its counters. It exits 1 with the
// library's status name and message when anything fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
)

const (
	keepAliveMethod = "/skywalking.v3.ManagementService/keepAlive"
	collectMethod   = "/skywalking.v3.TraceSegmentReportService/collect"
)

// protobuf wire encoding of the few string fields used here (wire type 2).
func appendString(b []byte, field int, s string) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// instancePing encodes skywalking.v3.InstancePingPkg{service = 1, serviceInstance = 2}.
func instancePing(service, instance string) []byte {
	return appendString(appendString(nil, 1, service), 2, instance)
}

// segment encodes a skywalking.v3.SegmentObject without spans: traceId = 1,
// traceSegmentId = 2, service = 4, serviceInstance = 5.
func segment(traceID, segmentID, service, instance string) []byte {
	b := appendString(nil, 1, traceID)
	b = appendString(b, 2, segmentID)
	b = appendString(b, 4, service)
	return appendString(b, 5, instance)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fail(what string, err error) {
	var e *swtls.Error
	if errors.As(err, &e) {
		fmt.Printf("%v: %s\n", e.Code, e.Message)
	} else {
		fmt.Println(err)
	}
	fmt.Fprintf(os.Stderr, "%s failed\n", what)
	os.Exit(1)
}

func main() {
	rounds := flag.Int("rounds", 1, "keepAlive + report rounds")
	segments := flag.Int("segments", 10, "segments reported per round")
	interval := flag.Duration("interval", time.Second, "pause between rounds")
	flag.Parse()
	service := env("SW_AGENT_NAME", "go-demo-service")
	instance := env("SW_AGENT_INSTANCE_NAME", "go-demo-instance")

	cfg, err := swtls.NewConfig()
	if err != nil {
		fail("swtls.NewConfig", err)
	}
	if err := cfg.LoadEnv(); err != nil {
		fail("Config.LoadEnv", err)
	}
	ch, err := swtls.NewChannel(cfg)
	cfg.Close() // the channel keeps its own copy
	if err != nil {
		fail("swtls.NewChannel", err)
	}
	defer ch.Close()
	fmt.Fprintf(os.Stderr, "%s; %s\n", swtls.Version(), ch.TLSReason())

	start := time.Now().UnixNano()
	for r := 0; r < *rounds; r++ {
		if r > 0 {
			time.Sleep(*interval)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := ch.Unary(ctx, keepAliveMethod, instancePing(service, instance))
		cancel()
		if err != nil {
			fail("keepAlive", err)
		}
		fmt.Printf("keepAlive %s/%s: ok\n", service, instance)
		for i := 0; i < *segments; i++ {
			trace := fmt.Sprintf("go-trace-%d-%d", start, r)
			seg := fmt.Sprintf("go-segment-%d-%d-%d", start, r, i)
			if err := ch.Report(collectMethod, segment(trace, seg, service, instance)); err != nil {
				if swtls.IsQueueFull(err) {
					continue // dropped and counted; an agent goes on
				}
				fail("Report", err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ch.Flush(ctx); err != nil {
		fail("Flush", err)
	}
	if err := ch.Shutdown(ctx); err != nil {
		fail("Close", err)
	}
	s, err := ch.Stats()
	if err != nil {
		fail("Stats", err)
	}
	fmt.Printf("reported %d segments: %d acknowledged, %d dropped, %d pending (%s, %v)\n",
		s.Queued, s.Acknowledged, s.Dropped(), s.Pending, s.Backend, s.TLSMode)
}
