package org.apache.skywalking.swtls.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.skywalking.apm.agent.core.conf.Config;
import org.apache.skywalking.apm.agent.core.logging.api.ILog;
import org.apache.skywalking.apm.agent.core.logging.api.LogManager;
import org.apache.skywalking.apm.agent.core.logging.api.LogResolver;
import org.apache.skywalking.apm.agent.core.remote.GRPCChannelStatus;
import org.apache.skywalking.apm.dependencies.io.grpc.CallOptions;
import org.apache.skywalking.apm.dependencies.io.grpc.Channel;
import org.apache.skywalking.apm.dependencies.io.grpc.MethodDescriptor;
import org.apache.skywalking.apm.dependencies.io.grpc.Status;
import org.apache.skywalking.apm.dependencies.io.grpc.StatusRuntimeException;
import org.apache.skywalking.apm.dependencies.io.grpc.stub.ClientCalls;
import org.apache.skywalking.swtls.agent.e2e.CollectorProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SwtlsChannelManager} as the agent drives it, from the plugin jar (the classes
 * relocated onto the agent's grpc; failsafe runs against the packaged jar), against
 * swtls-collector on loopback: listeners, calls through the decorators with the token, the
 * reconnect rule when the backend goes away and comes back, bidirectional methods logged
 * once, fail-closed configuration, the library's log in the agent's logger, shutdown.
 */
class SwtlsChannelManagerIT {
    static final String TOKEN = "manager-it-token-1";
    static final List<String> LOG = new CopyOnWriteArrayList<String>();

    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<byte[]>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                byte[] buf = new byte[4096];
                int n;
                while ((n = stream.read(buf)) > 0) {
                    out.write(buf, 0, n);
                }
                return out.toByteArray();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    };
    static final MethodDescriptor<byte[], byte[]> KEEP_ALIVE = method("skywalking.v3.ManagementService/keepAlive",
            MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<byte[], byte[]> BIDI = method("skywalking.v3.AsyncProfilerTask/collect",
            MethodDescriptor.MethodType.BIDI_STREAMING);
    /** InstancePingPkg { service = "svc-m", serviceInstance = "inst-m" }. */
    static final byte[] PING = concat(new byte[] {0x0a, 5}, "svc-m".getBytes(StandardCharsets.US_ASCII),
            new byte[] {0x12, 6}, "inst-m".getBytes(StandardCharsets.US_ASCII));

    @TempDir
    static Path tmp;

    @BeforeAll
    static void agentLogger() {
        // Every agent logger records into LOG (before the manager's class takes its logger).
        LogManager.setLogResolver(new LogResolver() {
            @Override
            public ILog getLogger(Class<?> c) {
                return recording();
            }

            @Override
            public ILog getLogger(String c) {
                return recording();
            }
        });
        Config.Agent.AUTHENTICATION = TOKEN;
        Config.Collector.GRPC_UPSTREAM_TIMEOUT = 5;
        Config.Collector.GRPC_CHANNEL_CHECK_INTERVAL = 3600; // the test runs the checks itself
    }

    @AfterAll
    static void reset() {
        Config.Agent.AUTHENTICATION = "";
        Config.Agent.SSL_KEY_PATH = null;
    }

    @Test
    void listenersCallsReconnectsAndShutdown() throws Exception {
        Path agent = Files.createDirectories(tmp.resolve("agent")); // no ca/: plaintext
        Path port = tmp.resolve("port");
        String collectorBin = System.getProperty("swtls.collector");
        CollectorProcess collector = new CollectorProcess(port, collectorBin, "serve", "--listen", "127.0.0.1:0",
                "--token", TOKEN, "--port-file", port.toString());
        String address = "127.0.0.1:" + collector.port;
        Config.Collector.BACKEND_SERVICE = address;

        SwtlsChannelManager manager = new SwtlsChannelManager(agent::toFile);
        List<GRPCChannelStatus> statuses = new CopyOnWriteArrayList<GRPCChannelStatus>();
        manager.addChannelListener(statuses::add);
        try {
            // boot(): the first check runs at once on the manager's daemon thread.
            manager.boot();
            waitUntil(() -> statuses.equals(Arrays.asList(GRPCChannelStatus.CONNECTED)), "CONNECTED after boot");
            Channel channel = manager.getChannel();
            assertArrayEquals(new byte[0], keepAlive(channel), "Commands {} is empty");
            assertTrue(collector.waitFor(l -> l.equals("keepAlive service=svc-m instance=inst-m"), 10),
                    collector.text());
            assertEquals(0, collector.count("rejected"), "the token went with the call:\n" + collector.text());
            waitUntil(() -> logged("info", "swtls: connected to " + address), "the library's log in the agent's");

            // A bidirectional method: UNIMPLEMENTED, logged once.
            for (int i = 0; i < 2; i++) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> ClientCalls.blockingUnaryCall(channel, BIDI, CallOptions.DEFAULT, PING));
                assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
            }
            assertEquals(1, count("error", "AsyncProfilerTask/collect is a BIDI_STREAMING method"), LOG.toString());

            // The backend goes away: the call fails UNAVAILABLE, the client reports it.
            collector.stop();
            StatusRuntimeException down = assertThrows(StatusRuntimeException.class, () -> keepAlive(channel));
            assertEquals(Status.Code.UNAVAILABLE, down.getStatus().getCode());
            manager.reportError(down);
            assertEquals(Arrays.asList(GRPCChannelStatus.CONNECTED, GRPCChannelStatus.DISCONNECT), statuses);
            manager.run();
            Thread.sleep(1500);
            manager.run();
            assertEquals(2, statuses.size(), "no CONNECTED while the backend is down: " + statuses);

            // It comes back on the same address: a check finds swtls connected again.
            collector = new CollectorProcess(port, collectorBin, "serve", "--listen", address, "--token", TOKEN,
                    "--port-file", port.toString());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (statuses.size() < 3 && System.nanoTime() < deadline) {
                manager.run();
                Thread.sleep(300);
            }
            assertEquals(GRPCChannelStatus.CONNECTED, statuses.get(statuses.size() - 1), statuses.toString());
            assertEquals(3, statuses.size(), statuses.toString());
            keepAlive(manager.getChannel());
            assertTrue(collector.waitFor(l -> l.equals("keepAlive service=svc-m instance=inst-m"), 10),
                    collector.text());

            // Errors that are not the network's leave the listeners alone.
            manager.reportError(Status.UNIMPLEMENTED.asRuntimeException());
            manager.reportError(new IllegalStateException("not a status"));
            assertEquals(3, statuses.size(), statuses.toString());

            manager.shutdown();
            StatusRuntimeException closed = assertThrows(StatusRuntimeException.class, () -> keepAlive(channel));
            assertEquals(Status.Code.UNAVAILABLE, closed.getStatus().getCode());
        } finally {
            manager.shutdown();
            collector.stop();
        }
    }

    @Test
    void aConfigurationSwtlsRefusesMakesNoChannelAndSaysWhyOnce() throws Exception {
        Path agent = Files.createDirectories(tmp.resolve("agent-bad"));
        Config.Collector.BACKEND_SERVICE = "127.0.0.1:9";
        Config.Agent.SSL_KEY_PATH = "ca/missing-key.der";
        SwtlsChannelManager manager = new SwtlsChannelManager(agent::toFile);
        List<GRPCChannelStatus> statuses = new ArrayList<GRPCChannelStatus>();
        manager.addChannelListener(statuses::add);
        try {
            manager.run();
            manager.run();
            assertEquals(0, statuses.size(), "never CONNECTED: " + statuses);
            assertNull(manager.getChannel());
            String missing = agent.resolve("ca/missing-key.der").toString();
            assertEquals(1, count("error", "agent.ssl_key_path"), LOG.toString());
            assertTrue(logged("error", missing), LOG.toString());
        } finally {
            Config.Agent.SSL_KEY_PATH = null;
            manager.shutdown();
        }
    }

    // ---- helpers ----

    static byte[] keepAlive(Channel channel) {
        return ClientCalls.blockingUnaryCall(channel, KEEP_ALIVE,
                CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), PING);
    }

    static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(type)
                .setFullMethodName(name)
                .setRequestMarshaller(BYTES)
                .setResponseMarshaller(BYTES)
                .build();
    }

    /** An ILog that records "level: message" with the {} placeholders filled. */
    static ILog recording() {
        return (ILog) Proxy.newProxyInstance(ILog.class.getClassLoader(), new Class<?>[] {ILog.class},
                (proxy, m, args) -> {
                    String name = m.getName();
                    if (name.startsWith("is")) {
                        return true;
                    }
                    String format = null;
                    List<Object> values = new ArrayList<Object>();
                    for (Object a : args == null ? new Object[0] : args) {
                        if (a instanceof String && format == null) {
                            format = (String) a;
                        } else if (a instanceof Object[]) {
                            values.addAll(Arrays.asList((Object[]) a));
                        }
                    }
                    String text = format == null ? "" : format;
                    for (Object v : values) {
                        int at = text.indexOf("{}");
                        if (at < 0) {
                            break;
                        }
                        text = text.substring(0, at) + v + text.substring(at + 2);
                    }
                    LOG.add(name + ": " + text);
                    return null;
                });
    }

    static boolean logged(String level, String fragment) {
        return count(level, fragment) > 0;
    }

    static int count(String level, String fragment) {
        int n = 0;
        for (String l : LOG) {
            if (l.startsWith(level + ": ") && l.contains(fragment)) {
                n++;
            }
        }
        return n;
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    static void waitUntil(Condition c, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!c.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; agent log: " + LOG);
            }
            Thread.sleep(50);
        }
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }
}
