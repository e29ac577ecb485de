package org.apache.skywalking.swtls.bench;

import java.util.Arrays;
import org.apache.skywalking.swtls.BenchSupport;
import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.LogLevel;
import org.apache.skywalking.swtls.LogListener;
import org.apache.skywalking.swtls.Stats;
import org.apache.skywalking.swtls.Swtls;
import org.apache.skywalking.swtls.SwtlsException;

/**
 * The cost of {@code Channel.report()} as the Java caller sees it, and messages/s through
 * the binding, over mutual TLS to a grpc-java (Netty) server in the same JVM on 127.0.0.1.
 * Run by bindings/java/bench.sh. Prints figures; asserts nothing about speed.
 *
 * <p>Arguments: messages (200000), message bytes (1024), runs (3). Or {@code paced CALLS
 * SIZE PAUSE_US}: only report() as an application that works between reports sees it (the
 * C figures of bench/report.sh, beside): CALLS reports of SIZE bytes, each followed by a
 * PAUSE_US park (50: about 10k reports/s), each timed; prints p50/p99/p99.9 and the rate.
 */
public final class ReportBenchmark {
    static final String COLLECT = "/skywalking.v3.TraceSegmentReportService/collect";
    static final String KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive";

    public static void main(String[] args) throws Exception {
        if (args.length == 4 && args[0].equals("paced")) {
            BenchSupport server = BenchSupport.fromEnvironment();
            try {
                paced(server, Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            } finally {
                server.close();
            }
            return;
        }
        int messages = args.length > 0 ? Integer.parseInt(args[0]) : 200000;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        BenchSupport server = BenchSupport.fromEnvironment();
        try {
            System.out.println("swtls " + Swtls.version() + ", Java "
                    + System.getProperty("java.version") + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
            System.out.println("report(): " + messages + " messages of " + size + " bytes per run, " + runs
                    + " runs, mutual TLS to " + server.describe());
            for (int run = 1; run <= runs; run++) {
                runOnce(server, messages, size, run);
            }
            for (int run = 1; run <= runs; run++) {
                callerOnly(server, messages, size, run);
            }
        } finally {
            server.close();
        }
    }

    static void runOnce(BenchSupport server, int messages, int size, int run) throws Exception {
        Config config = server.config()
                .set("swtls.report_queue_messages", Integer.toString(Math.max(messages, 1)))
                .set("swtls.report_queue_bytes", Long.toString(Math.min(1L << 30, Math.max(1024L, 2L * messages * size))));
        byte[] message = new byte[size];
        long[] ns = new long[messages];
        try (Channel ch = new Channel(config)) {
            // Warm-up: connect, JIT, and the reporter's stream.
            long[] unary = new long[2000];
            for (int i = 0; i < 500; i++) {
                ch.unary(KEEP_ALIVE, new byte[] {0x0a, 0x01, 0x61, 0x12, 0x01, 0x62});
                ch.report(COLLECT, message);
            }
            ch.flush(60000);
            for (int i = 0; i < unary.length; i++) {
                long t0 = System.nanoTime();
                ch.unary(KEEP_ALIVE, new byte[] {0x0a, 0x01, 0x61, 0x12, 0x01, 0x62});
                unary[i] = System.nanoTime() - t0;
            }
            Stats before = ch.stats();
            long acknowledgedBefore = server.acknowledged();
            int refused = 0;
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                message[0] = (byte) i;
                long t0 = System.nanoTime();
                try {
                    ch.report(COLLECT, message);
                } catch (SwtlsException e) {
                    refused++;
                }
                ns[i] = System.nanoTime() - t0;
            }
            long reported = System.nanoTime() - start;
            ch.flush(120000);
            long delivered = System.nanoTime() - start;
            Stats after = ch.stats();
            long acked = after.acknowledged - before.acknowledged;
            Arrays.sort(ns);
            Arrays.sort(unary);
            System.out.printf("run %d: report() ns/call p50 %d  p99 %d  max %d | report loop %.0f msgs/s | delivered %d"
                            + " (server counted %s, refused %d) in %.2f s = %.0f msgs/s, %.1f MB/s"
                            + " | unary keepAlive p50 %.1f us p99 %.1f us%n",
                    run, pct(ns, 50), pct(ns, 99), ns[ns.length - 1], messages / (reported / 1e9), acked,
                    server.acknowledged() < 0 ? "n/a" : Long.toString(server.acknowledged() - acknowledgedBefore), refused, delivered / 1e9, acked / (delivered / 1e9),
                    acked * (double) size / (delivered / 1e9) / 1e6, pct(unary, 50) / 1e3, pct(unary, 99) / 1e3);
        }
    }

    /**
     * The caller's cost alone: report() into a queue that nothing drains (the backend is a
     * closed port on 127.0.0.1, so the reporter only backs off), large enough for every message.
     */
    static void callerOnly(BenchSupport server, int messages, int size, int run) throws Exception {
        Config config = server.config()
                .set("collector.backend_service", "127.0.0.1:1")
                .set("swtls.report_queue_messages", Integer.toString(Math.max(messages + 20000, 1)))
                .set("swtls.report_queue_bytes", Long.toString(1L << 30));
        byte[] message = new byte[size];
        long[] ns = new long[messages];
        // The reporter's warnings about the closed port are expected here: keep them off the output.
        Swtls.setLogListener(new LogListener() {
            @Override
            public void log(LogLevel level, String text) {}
        }, LogLevel.ERROR);
        Channel ch = new Channel(config);
        try {
            for (int i = 0; i < 20000; i++) { // JIT warm-up
                ch.report(COLLECT, message);
            }
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                long t0 = System.nanoTime();
                ch.report(COLLECT, message);
                ns[i] = System.nanoTime() - t0;
            }
            long elapsed = System.nanoTime() - start;
            Arrays.sort(ns);
            System.out.printf("caller only, run %d: report() ns/call p50 %d  p99 %d  max %d | %.0f calls/s%n", run,
                    pct(ns, 50), pct(ns, 99), ns[ns.length - 1], messages / (elapsed / 1e9));
        } finally {
            try {
                ch.close(1);
            } catch (SwtlsException expected) {
                // DEADLINE_EXCEEDED: nothing could be delivered, as intended
            }
            Swtls.setLogListener(null, null);
        }
    }

    static void paced(BenchSupport server, int calls, int size, int pauseUs) throws Exception {
        byte[] message = new byte[size];
        long[] ns = new long[calls];
        try (Channel ch = new Channel(server.config())) {
            for (int i = 0; i < 20000; i++) { // JIT warm-up, and the reporter's stream
                ch.report(COLLECT, message);
                if (i % 1000 == 999) {
                    ch.flush(60000);
                }
            }
            ch.flush(60000);
            Stats before = ch.stats();
            long start = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                long t0 = System.nanoTime();
                ch.report(COLLECT, message);
                ns[i] = System.nanoTime() - t0;
                java.util.concurrent.locks.LockSupport.parkNanos(pauseUs * 1000L);
            }
            double rate = calls / ((System.nanoTime() - start) / 1e9);
            ch.flush(60000);
            Stats after = ch.stats();
            long dropped = (after.droppedQueueFull + after.droppedClosed + after.droppedServerError)
                    - (before.droppedQueueFull + before.droppedClosed + before.droppedServerError);
            Arrays.sort(ns);
            System.out.printf("report() paced, %d B, pause %d us (%.0f calls/s): p50 %.2f us, p99 %.2f us, p99.9 %.2f us;"
                            + " dropped %d%n", size, pauseUs, rate, ns[calls / 2] / 1e3, pct(ns, 99) / 1e3,
                    ns[Math.min(calls - 1, (int) Math.ceil(0.999 * calls) - 1)] / 1e3, dropped);
        }
    }

    static long pct(long[] sorted, int p) {
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100.0 * sorted.length) - 1);
        return sorted[Math.max(0, i)];
    }
}
