package bench;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * What both Java clients share (bench/compare/CLIENTS.md): the flags, the four workloads, the
 * clocks, the samples file and the RESULT line. A client only says how to make its channel,
 * make one unary call and drive one client stream ({@link Client}, {@link Stream}), so both
 * are timed by the same code.
 */
public final class Bench {
    /** The unary method and its request: an {@code InstancePingPkg} (service "bench", instance "bench-1"). */
    public static final String KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive";
    public static final byte[] PING = {
        0x0a, 0x05, 'b', 'e', 'n', 'c', 'h', 0x12, 0x07, 'b', 'e', 'n', 'c', 'h', '-', '1',
    };
    /** The client-streaming method; the sink answers "MESSAGES BYTES" that it counted. */
    public static final String COLLECT = "/swtls.test.Echo/collect";
    public static final long UNARY_DEADLINE_MILLIS = 30_000;
    public static final long STREAM_DEADLINE_MILLIS = 600_000;

    /** One client library: a channel to the target with mutual TLS. */
    public interface Client extends AutoCloseable {
        /** One keepAlive call; throws unless it succeeded. */
        void keepAlive() throws Exception;

        /** Opens a client stream on {@link #COLLECT}. */
        Stream openStream() throws Exception;

        @Override
        void close();
    }

    /** An open client stream. */
    public interface Stream {
        /** Sends one message: the call an agent makes per message (timed per call). */
        void send(byte[] message) throws Exception;

        /** Ends the stream and returns the server's response. */
        byte[] finish() throws Exception;
    }

    /** Makes the client's channel from the flags (certificates from {@code --certs}). */
    public interface Connector {
        Client connect(Flags flags) throws Exception;
    }

    /** The command line; every flag is always given (CLIENTS.md "Running"). */
    public static final class Flags {
        public final String workload;
        public final String host;
        public final int port;
        public final String target;
        public final String certs;
        public final int messages;
        public final int size;
        public final int warmup;
        public final int calls;
        public final String idleSeconds;
        public final String samples;

        Flags(String[] args) {
            Map<String, String> m = new HashMap<String, String>();
            for (int i = 0; i < args.length; i += 2) {
                if (!args[i].startsWith("--") || i + 1 == args.length) {
                    throw new IllegalArgumentException("expected --flag value pairs, got '" + args[i] + "'");
                }
                m.put(args[i].substring(2), args[i + 1]);
            }
            workload = need(m, "workload");
            if (!workload.matches("stream|unary|first|idle")) {
                throw new IllegalArgumentException("--workload must be stream, unary, first or idle, got '" + workload + "'");
            }
            target = need(m, "target");
            int colon = target.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--target must be HOST:PORT, got '" + target + "'");
            }
            host = target.substring(0, colon);
            port = number(m, "port of --target", target.substring(colon + 1));
            certs = need(m, "certs");
            messages = number(m, "messages", need(m, "messages"));
            size = number(m, "size", need(m, "size"));
            warmup = number(m, "warmup", need(m, "warmup"));
            calls = number(m, "calls", need(m, "calls"));
            idleSeconds = need(m, "idle-seconds");
            try {
                if (Double.parseDouble(idleSeconds) < 0) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--idle-seconds must be a number >= 0, got '" + idleSeconds + "'");
            }
            samples = need(m, "samples");
        }

        private static String need(Map<String, String> m, String flag) {
            String v = m.get(flag);
            if (v == null) {
                throw new IllegalArgumentException("missing --" + flag);
            }
            return v;
        }

        private static int number(Map<String, String> m, String what, String v) {
            try {
                int n = Integer.parseInt(v);
                if (n >= 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(what + " must be a whole number >= 0, got '" + v + "'");
        }
    }

    private Bench() {}

    /**
     * Runs the workload the flags name and prints the RESULT line; exits 0 only when it
     * completed and was verified, else prints why to stderr and exits 1.
     *
     * @param tStart {@code System.nanoTime()} taken first thing in {@code main} (workload "first")
     */
    public static void main(String client, long tStart, String[] args, Connector connector) {
        String result;
        try {
            Flags flags = new Flags(args);
            result = run(client, tStart, flags, connector);
        } catch (Throwable e) {
            System.err.println(client + ": " + describe(e));
            System.exit(1);
            return;
        }
        System.out.println("RESULT " + result);
        System.out.flush();
        System.exit(0); // the libraries' threads do not keep the process alive
    }

    private static String run(String client, long tStart, Flags f, Connector connector) throws Exception {
        Json out = new Json().put("client", client).put("workload", f.workload);
        long[] samples = new long[0];
        try (Client c = connector.connect(f)) {
            switch (f.workload) {
                case "stream": {
                    byte[] message = new byte[f.size];
                    for (int i = 0; i < message.length; i++) {
                        message[i] = (byte) (i % 251);
                    }
                    Stream warm = c.openStream();
                    for (int i = 0; i < f.warmup; i++) {
                        warm.send(message);
                    }
                    check(warm.finish(), f.warmup, (long) f.warmup * f.size);

                    samples = new long[f.messages];
                    long t0 = System.nanoTime();
                    long cpu0 = cpuNanos();
                    Stream s = c.openStream();
                    for (int i = 0; i < f.messages; i++) {
                        long a = System.nanoTime();
                        s.send(message);
                        samples[i] = System.nanoTime() - a;
                    }
                    byte[] answer = s.finish();
                    long[] counted = check(answer, f.messages, (long) f.messages * f.size);
                    long t1 = System.nanoTime();
                    long cpu1 = cpuNanos();
                    out.put("messages", f.messages).put("bytes", (long) f.messages * f.size)
                            .put("sink_messages", counted[0]).put("sink_bytes", counted[1])
                            .put("seconds", seconds(t1 - t0)).put("cpu_seconds", seconds(cpu1 - cpu0));
                    break;
                }
                case "unary": {
                    for (int i = 0; i < f.warmup; i++) {
                        c.keepAlive();
                    }
                    samples = new long[f.calls];
                    long t0 = System.nanoTime();
                    long cpu0 = cpuNanos();
                    for (int i = 0; i < f.calls; i++) {
                        long a = System.nanoTime();
                        c.keepAlive();
                        samples[i] = System.nanoTime() - a;
                    }
                    long t1 = System.nanoTime();
                    long cpu1 = cpuNanos();
                    out.put("calls", f.calls).put("seconds", seconds(t1 - t0)).put("cpu_seconds", seconds(cpu1 - cpu0));
                    break;
                }
                case "first": {
                    c.keepAlive();
                    long tDone = System.nanoTime();
                    Instant wall = Instant.now();
                    out.put("first_call_ns", tDone - tStart)
                            .put("done_unix_ns", wall.getEpochSecond() * 1_000_000_000L + wall.getNano());
                    break;
                }
                default: { // idle
                    c.keepAlive();
                    long cpu0 = cpuNanos();
                    Thread.sleep(Math.round(Double.parseDouble(f.idleSeconds) * 1000));
                    long cpu1 = cpuNanos();
                    c.keepAlive();
                    out.put("idle_seconds", Double.parseDouble(f.idleSeconds))
                            .put("idle_cpu_seconds", seconds(cpu1 - cpu0)).put("rss_kib", rssKib());
                    break;
                }
            }
        }
        writeSamples(f.samples, samples); // first and idle: an empty file
        return out.toString();
    }

    /** Checks the sink's "MESSAGES BYTES" answer against what was sent; returns the two counts. */
    private static long[] check(byte[] answer, long messages, long bytes) {
        String text = new String(answer, StandardCharsets.US_ASCII);
        String[] parts = text.trim().split(" ");
        long[] counted = new long[2];
        try {
            if (parts.length != 2) {
                throw new NumberFormatException();
            }
            counted[0] = Long.parseLong(parts[0]);
            counted[1] = Long.parseLong(parts[1]);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("the sink's answer is not \"MESSAGES BYTES\": '" + text + "'");
        }
        if (counted[0] != messages || counted[1] != bytes) {
            throw new IllegalStateException("sent " + messages + " messages, " + bytes + " bytes; the sink counted "
                    + counted[0] + " messages, " + counted[1] + " bytes");
        }
        return counted;
    }

    /** User + system CPU time of the whole process (all threads), in nanoseconds. */
    private static long cpuNanos() {
        long ns = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        if (ns < 0) {
            throw new IllegalStateException("process CPU time is not available on this JVM");
        }
        return ns;
    }

    /** VmRSS from /proc/self/status, in KiB. */
    private static long rssKib() throws IOException {
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(new FileInputStream("/proc/self/status"), StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                }
            }
        }
        throw new IllegalStateException("no VmRSS line in /proc/self/status");
    }

    /** The samples as little-endian unsigned 64-bit nanoseconds, in order. */
    private static void writeSamples(String path, long[] samples) throws IOException {
        try (OutputStream o = new BufferedOutputStream(new FileOutputStream(path), 1 << 16)) {
            for (long v : samples) {
                for (int b = 0; b < 8; b++) {
                    o.write((int) (v >>> (8 * b)));
                }
            }
        }
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /** The exception and its causes in one line (gRPC statuses keep the transport error in the cause). */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (sb.length() > 0) {
                sb.append(": ");
            }
            String m = t.getMessage();
            sb.append(t instanceof IllegalArgumentException || t instanceof IllegalStateException || m == null
                    ? (m == null ? t.getClass().getName() : m)
                    : t.getClass().getSimpleName() + ": " + m);
        }
        return sb.toString();
    }

    /** A flat JSON object of strings and numbers (the keys and string values need no escaping). */
    private static final class Json {
        private final StringBuilder sb = new StringBuilder("{");

        Json put(String key, Object value) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append('"').append(key).append("\": ");
            if (value instanceof String) {
                sb.append('"').append(value).append('"');
            } else {
                sb.append(value);
            }
            return this;
        }

        @Override
        public String toString() {
            return sb + "}";
        }
    }
}
