package swtls

// Benchmarks of the binding over mutual TLS on loopback, against the grpc-go test server
// in the same process (so the figures include the server's CPU). Run with
//
//	go test -run '^$' -bench . -benchtime 200000x ./    (in bindings/go)
//
// Each benchmark times every call and reports p50/p99 in ns besides Go's ns/op; Report
// also reports messages/s from the first Report to the end of the Flush that confirms
// every message was acknowledged.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

func benchChannel(b *testing.B) (*Channel, *server) {
	c := makeCerts(b)
	srv := startServer(b, serverOptions{tls: serverMutualTLS, certs: c})
	ch := newChannel(b, "collector.backend_service", srv.Addr, "agent.ca_dir", c.Dir,
		"swtls.report_queue_messages", "10000000", "swtls.report_queue_bytes", fmt.Sprint(1<<30))
	// Connect and handshake before timing.
	if _, err := ch.Unary(context.Background(), keepAliveMethod, []byte("warm-up")); err != nil {
		b.Fatal(err)
	}
	return ch, srv
}

// warmReporter reports n messages and flushes them: the reporter's stream is open and warm.
func warmReporter(b *testing.B, ch *Channel, msg []byte, n int) {
	for i := 0; i < n; i++ {
		if err := ch.Report(collectMethod, msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := ch.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// timedReports makes b.N reports of msg, each timed (the returned ns), each followed by a
// pause of the application's other work: a busy wait, not time.Sleep, whose wake-up in an
// otherwise idle Go process comes from the netpoller with millisecond resolution (it made
// the rate depend on how often the in-process server had data to read).
func timedReports(b *testing.B, ch *Channel, msg []byte, pause time.Duration) []int64 {
	ns := make([]int64, b.N)
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := ch.Report(collectMethod, msg); err != nil {
			b.Fatal(err)
		}
		ns[i] = int64(time.Since(t0))
		for until := time.Now().Add(pause); pause > 0 && time.Now().Before(until); {
		}
	}
	return ns
}

func reportPercentiles(b *testing.B, ns []int64) {
	slices.Sort(ns)
	at := func(p float64) float64 { return float64(ns[int(p*float64(len(ns)-1))]) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// BenchmarkReport: the caller's cost of Report with a 1 KiB message, and the rate at
// which messages are delivered (acknowledged by the server).
func BenchmarkReport(b *testing.B) {
	ch, srv := benchChannel(b)
	msg := make([]byte, 1024)
	warmReporter(b, ch, msg, 1000)
	before := srv.received.Load()
	b.ResetTimer()
	start := time.Now()
	ns := timedReports(b, ch, msg, 0)
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := ch.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if got := srv.received.Load() - before; got != int64(b.N) {
		b.Fatalf("server received %d of %d", got, b.N)
	}
	reportPercentiles(b, ns)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "delivered-msgs/s")
}

// BenchmarkReportParallel: Report from GOMAXPROCS goroutines at once (ns/op is the
// aggregate cost per message).
func BenchmarkReportParallel(b *testing.B) {
	ch, _ := benchChannel(b)
	msg := make([]byte, 1024)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := ch.Report(collectMethod, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if err := ch.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUnary: sequential keepAlive round trips with a 50-byte request.
func BenchmarkUnary(b *testing.B) {
	ch, _ := benchChannel(b)
	req := make([]byte, 50)
	ns := make([]int64, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := ch.Unary(ctx, keepAliveMethod, req); err != nil {
			b.Fatal(err)
		}
		ns[i] = int64(time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, ns)
}

// BenchmarkStreamSend: Send of 1 KiB messages on one client stream; messages/s counts
// from OpenStream to the server's answer.
func BenchmarkStreamSend(b *testing.B) {
	ch, srv := benchChannel(b)
	msg := make([]byte, 1024)
	ns := make([]int64, b.N)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	s, err := ch.OpenStream(ctx, collectMethod)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := s.Send(msg); err != nil {
			b.Fatal(err)
		}
		ns[i] = int64(time.Since(t0))
	}
	resp, err := s.Finish()
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if string(resp) != fmt.Sprint(b.N) || srv.received.Load() != int64(b.N) {
		b.Fatalf("server answered %q, received %d of %d", resp, srv.received.Load(), b.N)
	}
	reportPercentiles(b, ns)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkReportPaced: Report of 1 KiB as an application that works between reports sees
// it (the C figures of bench/report.sh, beside): each call is followed by a busy pause of
// SWTLS_BENCH_PAUSE_US microseconds (default 50, about 10k reports/s). Reports p50, p99
// and p99.9 in ns and the rate achieved.
func BenchmarkReportPaced(b *testing.B) {
	pause := 50 * time.Microsecond
	if v := os.Getenv("SWTLS_BENCH_PAUSE_US"); v != "" {
		us, err := strconv.Atoi(v)
		if err != nil || us < 0 {
			b.Fatalf("SWTLS_BENCH_PAUSE_US must be a number of microseconds, not %q", v)
		}
		pause = time.Duration(us) * time.Microsecond
	}
	ch, _ := benchChannel(b)
	msg := make([]byte, 1024)
	warmReporter(b, ch, msg, 2000)
	b.ResetTimer()
	start := time.Now()
	ns := timedReports(b, ch, msg, pause)
	b.StopTimer()
	rate := float64(b.N) / time.Since(start).Seconds()
	if err := ch.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	reportPercentiles(b, ns)
	slices.Sort(ns)
	b.ReportMetric(float64(ns[int(0.999*float64(len(ns)-1))]), "p99.9-ns")
	b.ReportMetric(rate, "calls/s")
}
