// Package bench is the part the two Go benchmark clients (cmd/swtls-go, cmd/grpc-go)
// share: the flags, the four workloads with their timing, the --samples file and the
// RESULT line, as bench/compare/CLIENTS.md specifies them. Each client only supplies how
// to connect, make a unary call and run a client stream with its library.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The methods the sink serves (raw bytes, no generated code).
const (
	KeepAliveMethod = "/skywalking.v3.ManagementService/keepAlive"
	CollectMethod   = "/swtls.test.Echo/collect"
)

// Deadlines from CLIENTS.md.
const (
	UnaryDeadline  = 30 * time.Second
	StreamDeadline = 600 * time.Second
)

// Ping is the InstancePingPkg{service: "bench", service_instance: "bench-1"} encoding.
var Ping = []byte{0x0a, 0x05, 'b', 'e', 'n', 'c', 'h', 0x12, 0x07, 'b', 'e', 'n', 'c', 'h', '-', '1'}

// Options are the harness's flags (all are always given).
type Options struct {
	Workload    string
	Target      string // host:port
	Certs       string // folder with ca.crt, client.crt, client.pem
	Messages    int
	Size        int
	Warmup      int
	Calls       int
	IdleSeconds float64
	Samples     string
}

// Client is one library's channel.
type Client interface {
	// KeepAlive makes one unary keepAlive call with Ping and the given deadline context.
	KeepAlive(ctx context.Context) error
	// OpenStream opens a client stream on CollectMethod, bounded by ctx.
	OpenStream(ctx context.Context) (Stream, error)
	Close() error
}

// Stream is an open client-streaming call.
type Stream interface {
	Send(msg []byte) error         // the call an agent makes per message (timed)
	CloseAndRecv() ([]byte, error) // half-close, then the server's answer
}

// Connect creates a client's channel from the options.
type Connect func(o *Options) (Client, error)

// Main runs the workload the flags ask for with the client connect makes and exits:
// 0 with one RESULT line on stdout, or 1 with the reason on stderr. start is the time
// main began (the first workload measures from it).
func Main(start time.Time, name string, connect Connect) {
	o, err := parseFlags()
	if err == nil {
		var result any
		if result, err = run(start, name, connect, o); err == nil {
			line, _ := json.Marshal(result)
			fmt.Printf("RESULT %s\n", line)
			os.Exit(0)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}

func parseFlags() (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	fs.StringVar(&o.Workload, "workload", "", "stream, unary, first or idle")
	fs.StringVar(&o.Target, "target", "", "the sink's host:port")
	fs.StringVar(&o.Certs, "certs", "", "folder with ca.crt, client.crt and client.pem")
	fs.IntVar(&o.Messages, "messages", 0, "stream: messages in the measured stream")
	fs.IntVar(&o.Size, "size", 0, "stream: bytes per message")
	fs.IntVar(&o.Warmup, "warmup", 0, "stream: messages in the warm-up stream; unary: warm-up calls")
	fs.IntVar(&o.Calls, "calls", 0, "unary: measured calls")
	fs.Float64Var(&o.IdleSeconds, "idle-seconds", 0, "idle: seconds to sleep")
	fs.StringVar(&o.Samples, "samples", "", "file for the per-operation nanoseconds (u64 little-endian)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.Target == "" || o.Certs == "" {
		return nil, fmt.Errorf("--target and --certs are required")
	}
	if o.Messages < 0 || o.Size < 0 || o.Warmup < 0 || o.Calls < 0 || o.IdleSeconds < 0 {
		return nil, fmt.Errorf("--messages, --size, --warmup, --calls and --idle-seconds must not be negative")
	}
	return o, nil
}

func run(start time.Time, name string, connect Connect, o *Options) (any, error) {
	switch o.Workload {
	case "stream", "unary", "first", "idle":
	default:
		return nil, fmt.Errorf("--workload %q: expected stream, unary, first or idle", o.Workload)
	}
	c, err := connect(o)
	if err != nil {
		return nil, fmt.Errorf("creating the channel to %s: %w", o.Target, err)
	}
	defer c.Close()
	switch o.Workload {
	case "stream":
		return runStream(name, c, o)
	case "unary":
		return runUnary(name, c, o)
	case "first":
		if err := keepAlive(c); err != nil {
			return nil, err
		}
		done := time.Now()
		return struct {
			Client      string `json:"client"`
			Workload    string `json:"workload"`
			FirstCallNs int64  `json:"first_call_ns"`
			DoneUnixNs  int64  `json:"done_unix_ns"`
		}{name, o.Workload, done.Sub(start).Nanoseconds(), done.UnixNano()}, nil
	default:
		return runIdle(name, c, o)
	}
}

func keepAlive(c Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), UnaryDeadline)
	defer cancel()
	if err := c.KeepAlive(ctx); err != nil {
		return fmt.Errorf("keepAlive call: %w", err)
	}
	return nil
}

// sendStream sends n messages on one stream and checks the sink's "MESSAGES BYTES"
// answer. samples, when not nil, receives the duration of each Send.
func sendStream(c Client, msg []byte, n int, samples []uint64) (sinkMessages, sinkBytes int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), StreamDeadline)
	defer cancel()
	s, err := c.OpenStream(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("opening the stream: %w", err)
	}
	for i := range n {
		t := time.Now()
		err := s.Send(msg)
		if samples != nil {
			samples[i] = uint64(time.Since(t))
		}
		if err != nil {
			return 0, 0, fmt.Errorf("sending message %d of %d: %w", i+1, n, err)
		}
	}
	answer, err := s.CloseAndRecv()
	if err != nil {
		return 0, 0, fmt.Errorf("finishing the stream of %d messages: %w", n, err)
	}
	fields := strings.Fields(string(answer))
	if len(fields) == 2 {
		sinkMessages, err1 := strconv.ParseInt(fields[0], 10, 64)
		sinkBytes, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 == nil && err2 == nil {
			if sinkMessages != int64(n) || sinkBytes != int64(n)*int64(len(msg)) {
				return 0, 0, fmt.Errorf("the sink counted %d messages, %d bytes; sent %d messages, %d bytes",
					sinkMessages, sinkBytes, n, int64(n)*int64(len(msg)))
			}
			return sinkMessages, sinkBytes, nil
		}
	}
	return 0, 0, fmt.Errorf("the sink answered %q, expected \"MESSAGES BYTES\"", answer)
}

func runStream(name string, c Client, o *Options) (any, error) {
	msg := make([]byte, o.Size)
	for i := range msg {
		msg[i] = byte(i % 251)
	}
	if _, _, err := sendStream(c, msg, o.Warmup, nil); err != nil {
		return nil, fmt.Errorf("warm-up stream: %w", err)
	}
	samples := make([]uint64, o.Messages)
	t0, cpu0 := time.Now(), cpuTime()
	sinkMessages, sinkBytes, err := sendStream(c, msg, o.Messages, samples)
	if err != nil {
		return nil, fmt.Errorf("measured stream: %w", err)
	}
	seconds, cpu := time.Since(t0).Seconds(), (cpuTime() - cpu0).Seconds()
	if err := writeSamples(o.Samples, samples); err != nil {
		return nil, err
	}
	return struct {
		Client       string  `json:"client"`
		Workload     string  `json:"workload"`
		Messages     int     `json:"messages"`
		Bytes        int64   `json:"bytes"`
		SinkMessages int64   `json:"sink_messages"`
		SinkBytes    int64   `json:"sink_bytes"`
		Seconds      float64 `json:"seconds"`
		CPUSeconds   float64 `json:"cpu_seconds"`
	}{name, o.Workload, o.Messages, int64(o.Messages) * int64(o.Size), sinkMessages, sinkBytes, seconds, cpu}, nil
}

func runUnary(name string, c Client, o *Options) (any, error) {
	for i := range o.Warmup {
		if err := keepAlive(c); err != nil {
			return nil, fmt.Errorf("warm-up call %d: %w", i+1, err)
		}
	}
	samples := make([]uint64, o.Calls)
	t0, cpu0 := time.Now(), cpuTime()
	for i := range o.Calls {
		t := time.Now()
		err := keepAlive(c) // includes the per-call deadline context, as an agent's call would
		samples[i] = uint64(time.Since(t))
		if err != nil {
			return nil, fmt.Errorf("call %d of %d: %w", i+1, o.Calls, err)
		}
	}
	seconds, cpu := time.Since(t0).Seconds(), (cpuTime() - cpu0).Seconds()
	if err := writeSamples(o.Samples, samples); err != nil {
		return nil, err
	}
	return struct {
		Client     string  `json:"client"`
		Workload   string  `json:"workload"`
		Calls      int     `json:"calls"`
		Seconds    float64 `json:"seconds"`
		CPUSeconds float64 `json:"cpu_seconds"`
	}{name, o.Workload, o.Calls, seconds, cpu}, nil
}

func runIdle(name string, c Client, o *Options) (any, error) {
	if err := keepAlive(c); err != nil {
		return nil, fmt.Errorf("first %w", err)
	}
	cpu0 := cpuTime()
	time.Sleep(time.Duration(o.IdleSeconds * float64(time.Second)))
	cpu := (cpuTime() - cpu0).Seconds()
	if err := keepAlive(c); err != nil {
		return nil, fmt.Errorf("after %gs idle: %w", o.IdleSeconds, err)
	}
	rss, err := vmRSSKiB()
	if err != nil {
		return nil, err
	}
	return struct {
		Client         string  `json:"client"`
		Workload       string  `json:"workload"`
		IdleSeconds    float64 `json:"idle_seconds"`
		IdleCPUSeconds float64 `json:"idle_cpu_seconds"`
		RSSKiB         int64   `json:"rss_kib"`
	}{name, o.Workload, o.IdleSeconds, cpu, rss}, nil
}

// cpuTime is the user + system time of the whole process (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err) // cannot fail for RUSAGE_SELF with a valid pointer
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSSKiB reads VmRSS from /proc/self/status.
func vmRSSKiB() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(rest)) // "1234 kB"
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("/proc/self/status: no VmRSS line in kB")
}

// writeSamples writes the durations as little-endian u64 nanoseconds.
func writeSamples(path string, samples []uint64) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--samples: %w", err)
	}
	w := bufio.NewWriter(f)
	err = binary.Write(w, binary.LittleEndian, samples)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--samples %s: %w", path, err)
	}
	return nil
}
