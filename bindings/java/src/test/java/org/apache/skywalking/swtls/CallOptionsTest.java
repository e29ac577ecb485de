package org.apache.skywalking.swtls;

import static org.apache.skywalking.swtls.Fixtures.assertStatus;
import static org.apache.skywalking.swtls.Fixtures.config;
import static org.apache.skywalking.swtls.Fixtures.ping;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Metadata;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Per-call options: metadata, cancellation from another thread, stream readiness, connectivity. */
class CallOptionsTest {
    private static Path mtlsDir() throws Exception {
        return TestCerts.get().agentDir("ca.crt", "client.crt", "client.pem");
    }

    /** Accepts TCP connections and never answers: calls to it wait until their deadline. */
    static final class SilentServer implements AutoCloseable {
        final ServerSocket socket;
        final List<Socket> accepted = new ArrayList<Socket>();

        SilentServer() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = socket.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            }, "silent-server");
            t.setDaemon(true);
            t.start();
        }

        String address() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
            synchronized (accepted) {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }

    @Test
    void metadataIsSentWithTheTokenAndBadKeysAreNamed() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS, "tok");
                Channel ch = new Channel(config(server.address(), mtlsDir()).set("agent.authentication", "tok"))) {
            CallOptions o = new CallOptions().timeoutMillis(5000)
                    .addMetadata("x-agent", "java")
                    .addMetadata("x-agent", "second")
                    .addMetadata("trace-bin", new byte[] {0, 1, (byte) 255});
            assertArrayEquals(TestCollector.KEEP_ALIVE_RESPONSE, ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), o));
            Metadata md = server.lastHeaders;
            assertEquals("tok", md.get(Metadata.Key.of("authentication", Metadata.ASCII_STRING_MARSHALLER)));
            List<String> agents = new ArrayList<String>();
            for (String v : md.getAll(Metadata.Key.of("x-agent", Metadata.ASCII_STRING_MARSHALLER))) {
                agents.add(v);
            }
            assertEquals(java.util.Arrays.asList("java", "second"), agents);
            assertArrayEquals(new byte[] {0, 1, (byte) 255},
                    md.get(Metadata.Key.of("trace-bin", Metadata.BINARY_BYTE_MARSHALLER)));

            try (ClientStream s = ch.openStream(TestCollector.COLLECT, new CallOptions().addMetadata("x-stream", "yes"))) {
                s.send(new byte[] {1});
                s.finish();
            }
            assertEquals("yes", server.lastHeaders.get(Metadata.Key.of("x-stream", Metadata.ASCII_STRING_MARSHALLER)));

            assertStatus(SwtlsException.INVALID_ARGUMENT,
                    () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), new CallOptions().addMetadata("grpc-timeout", "1S")),
                    "'grpc-timeout'");
            assertStatus(SwtlsException.INVALID_ARGUMENT,
                    () -> ch.openStream(TestCollector.COLLECT, new CallOptions().addMetadata("Upper", "x")), "'Upper'");
            SwtlsException e = assertStatus(SwtlsException.INVALID_ARGUMENT, () -> ch.unary(TestCollector.KEEP_ALIVE,
                    ping("a", "b"), new CallOptions().addMetadata("x-secret", "line\nbreak")), "'x-secret'", "-bin");
            assertFalse(e.getMessage().contains("line"), "values are never shown: " + e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new CallOptions().timeoutMillis(-1));
        }
    }

    @Test
    void aCancellationEndsABlockedUnaryCallFromAnotherThread() throws Exception {
        Cancellation c = new Cancellation();
        try (SilentServer silent = new SilentServer(); Channel ch = new Channel(config(silent.address(), mtlsDir()))) {
            Thread canceller = new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException ignored) {
                    return;
                }
                c.cancel();
            });
            canceller.start();
            long t0 = System.nanoTime();
            assertStatus(SwtlsException.CANCELLED,
                    () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), new CallOptions().cancellation(c)),
                    TestCollector.KEEP_ALIVE, "cancelled");
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(took < 5000, "the cancelled call returned after " + took + " ms");
            assertTrue(c.isCancelled());
            // Raised already: a new call with it ends at once.
            assertStatus(SwtlsException.CANCELLED,
                    () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), new CallOptions().cancellation(c)));
            c.close();
            c.cancel(); // does nothing after close
            assertStatus(SwtlsException.CLOSED,
                    () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"), new CallOptions().cancellation(c)), "cancellation");
        } finally {
            c.close();
        }
    }

    @Test
    void aStreamIsCancelledFromAnotherThreadAndReportsReadiness() throws Exception {
        try (SilentServer silent = new SilentServer(); Channel ch = new Channel(config(silent.address(), mtlsDir()))) {
            ClientStream s = ch.openStream(TestCollector.COLLECT, new CallOptions().timeoutMillis(30000));
            assertTrue(s.isReady());
            assertEquals(ClientStream.Readiness.READY, s.awaitReady(0));
            // Nothing is taken by a server that never answers: the stream's buffer fills.
            int sent = 0;
            while (s.isReady()) {
                assertTrue(sent < 1000, "still ready after " + sent + " messages to a server that never answers");
                s.send(new byte[] {(byte) sent++});
            }
            assertEquals(ClientStream.Readiness.FULL, s.awaitReady(100));
            AtomicReference<Throwable> finished = new AtomicReference<Throwable>();
            Thread waiter = new Thread(() -> {
                try {
                    s.finish();
                } catch (Throwable t) {
                    finished.set(t);
                }
            });
            waiter.start();
            Thread.sleep(200);
            long t0 = System.nanoTime();
            s.cancel();
            waiter.join(5000);
            assertFalse(waiter.isAlive(), "finish still blocked after cancel");
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 5000);
            assertTrue(finished.get() instanceof SwtlsException, String.valueOf(finished.get()));
            assertEquals(SwtlsException.CANCELLED, ((SwtlsException) finished.get()).getStatus(), finished.get().getMessage());
            assertFalse(s.isReady());
            assertEquals(ClientStream.Readiness.CLOSED, s.awaitReady(1000));
            s.close();
            s.cancel(); // nothing after close
            assertEquals(ClientStream.Readiness.CLOSED, s.awaitReady(0));
        }
    }

    @Test
    void connectivityFollowsTheChannel() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS)) {
            Channel ch = new Channel(config(server.address(), mtlsDir()));
            assertEquals(Connectivity.IDLE, ch.connectivity(false));
            ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"));
            assertEquals(Connectivity.READY, ch.connectivity(false));
            ch.close();
            assertEquals(Connectivity.SHUTDOWN, ch.connectivity(true));
        }
    }
}
