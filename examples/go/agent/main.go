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
//
// The messages are the SkyWalking protocol's generated Go types
// (skywalking.apache.org/repo/goapi, what skywalking-go uses), encoded with
// google.golang.org/protobuf; the swtls binding itself needs neither.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	swtls "github.com/apache/skywalking-swtls/bindings/go"
	"google.golang.org/protobuf/proto"
	agent "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	management "skywalking.apache.org/repo/goapi/collect/management/v3"
)

const (
	keepAliveMethod = "/skywalking.v3.ManagementService/keepAlive"
	collectMethod   = "/skywalking.v3.TraceSegmentReportService/collect"
)

// instancePing encodes a skywalking.v3.InstancePingPkg, the body of keepAlive.
func instancePing(service, instance string) []byte {
	return marshal(&management.InstancePingPkg{Service: service, ServiceInstance: instance})
}

// segment encodes a skywalking.v3.SegmentObject without spans.
func segment(traceID, segmentID, service, instance string) []byte {
	return marshal(&agent.SegmentObject{
		TraceId:         traceID,
		TraceSegmentId:  segmentID,
		Service:         service,
		ServiceInstance: instance,
	})
}

func marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		fail("proto.Marshal", err)
	}
	return b
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
