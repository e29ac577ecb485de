package org.apache.skywalking.swtls;

import static org.apache.skywalking.swtls.Fixtures.assertInvariant;
import static org.apache.skywalking.swtls.Fixtures.assertStatus;
import static org.apache.skywalking.swtls.Fixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Every kind of bad input gets a SwtlsException naming what is at fault. */
class BadInputTest {
    @Test
    void unknownKey() {
        assertStatus(SwtlsException.CONFIG_UNKNOWN_KEY, () -> new Config().set("collector.backend_servce", "x:1"),
                "collector.backend_servce");
        // An environment variable name is not a key, and the message says which key it is.
        assertStatus(SwtlsException.CONFIG_UNKNOWN_KEY, () -> new Config().set("SW_AGENT_FORCE_TLS", "true"),
                "agent.force_tls");
    }

    @Test
    void badValues() {
        assertStatus(SwtlsException.CONFIG_INVALID_VALUE, () -> new Config().set("agent.force_tls", "maybe"),
                "agent.force_tls", "maybe");
        assertStatus(SwtlsException.CONFIG_INVALID_VALUE, () -> new Config().set("collector.grpc_upstream_timeout", "0"),
                "collector.grpc_upstream_timeout");
        assertStatus(SwtlsException.CONFIG_INVALID_BACKEND, () -> new Config().set("collector.backend_service", "oap"),
                "oap");
        assertStatus(SwtlsException.CONFIG_INVALID_BACKEND,
                () -> new Config().set("collector.backend_service", "a:11800,b:99999"), "b:99999");
        SwtlsException e = assertStatus(SwtlsException.CONFIG_INVALID_VALUE,
                () -> new Config().set("agent.authentication", "Xy7secret\nQz"), "agent.authentication");
        assertFalse(e.getMessage().contains("Xy7secret"), "the token must not be shown: " + e.getMessage());
    }

    @Test
    void aFailedSetLeavesTheConfigUnchanged() throws Exception {
        Config c = config("127.0.0.1:1", TestCerts.get().agentDir());
        assertStatus(SwtlsException.CONFIG_INVALID_BACKEND, () -> c.set("collector.backend_service", "nope"));
        try (Channel ch = new Channel(c)) {
            assertEquals("127.0.0.1:1", ch.stats().backend);
        }
    }

    @Test
    void nullArguments() throws Exception {
        assertStatus(SwtlsException.NULL_ARGUMENT, () -> new Config().set(null, "x"), "key");
        assertStatus(SwtlsException.NULL_ARGUMENT, () -> new Config().set("agent.force_tls", null), "value");
        try (Channel ch = new Channel(config("127.0.0.1:1", TestCerts.get().agentDir()))) {
            assertStatus(SwtlsException.NULL_ARGUMENT, () -> ch.unary(null, new byte[0]), "method");
            assertStatus(SwtlsException.NULL_ARGUMENT, () -> ch.unary(TestCollector.KEEP_ALIVE, null), "request");
            assertStatus(SwtlsException.NULL_ARGUMENT, () -> ch.report(TestCollector.COLLECT, null), "message");
            assertStatus(SwtlsException.NULL_ARGUMENT, () -> ch.openStream(null), "method");
        }
    }

    @Test
    void missingAndBrokenFiles() throws Exception {
        TestCerts certs = TestCerts.get();
        Path dir = certs.agentDir();
        String missing = dir.resolve("no-such-ca.crt").toString();
        assertStatus(SwtlsException.FILE_NOT_FOUND,
                () -> new Channel(config("127.0.0.1:1", dir).set("agent.ssl_trusted_ca_path", missing)), missing);

        Path onlyCert = certs.agentDir("ca.crt", "client.crt");
        assertStatus(SwtlsException.CLIENT_CERT_INCOMPLETE, () -> new Channel(config("127.0.0.1:1", onlyCert)),
                "client.pem");

        Path garbage = certs.agentDir("client.crt", "client.pem");
        Files.write(garbage.resolve("ca.crt"), "not a certificate\n".getBytes("UTF-8"));
        assertStatus(SwtlsException.CERTIFICATE_INVALID, () -> new Channel(config("127.0.0.1:1", garbage)),
                garbage.resolve("ca.crt").toString());

        Path wrongKey = certs.agentDir("ca.crt", "client.crt");
        Files.copy(certs.serverKey.toPath(), wrongKey.resolve("client.pem"));
        assertStatus(SwtlsException.KEY_MISMATCH, () -> new Channel(config("127.0.0.1:1", wrongKey)), "client.pem");
    }

    @Test
    void badMethodPaths() throws Exception {
        final Channel ch = new Channel(config("127.0.0.1:1", TestCerts.get().agentDir()));
        final StringBuilder longName = new StringBuilder();
        {
            assertStatus(SwtlsException.INVALID_METHOD, () -> ch.unary("keepAlive", new byte[0]), "keepAlive");
            assertStatus(SwtlsException.INVALID_METHOD, () -> ch.report("/no-method", new byte[0]), "/no-method");
            assertStatus(SwtlsException.INVALID_METHOD, () -> ch.openStream("/a b/c"), "/a b/c");
            // Characters that modified UTF-8 encodes differently (NUL, outside the BMP) are converted exactly.
            assertStatus(SwtlsException.INVALID_METHOD, () -> ch.report("/a\u0000b/c", new byte[0]), "/a?b/c"); // NUL shown as ?
            assertStatus(SwtlsException.INVALID_METHOD, () -> ch.report("/svc\uD83D\uDE00/c", new byte[0]),
                    "/svc\uD83D\uDE00/c");
            assertEquals(0, ch.stats().queued);
            // A long (valid) path takes the general conversion.
            longName.append("/skywalking.v3.");
            for (int i = 0; i < 300; i++) {
                longName.append('x');
            }
            longName.append("/collect");
            ch.report(longName.toString(), new byte[] {1});
            assertEquals(1, ch.stats().queued);
        }
        // Nothing listens on 127.0.0.1:1: the queued message cannot be delivered.
        assertStatus(SwtlsException.DEADLINE_EXCEEDED, () -> ch.close(200), longName.toString());
        assertEquals(1, ch.stats().droppedClosed);
    }

    @Test
    void negativeTimeout() throws Exception {
        try (Channel ch = new Channel(config("127.0.0.1:1", TestCerts.get().agentDir()))) {
            assertStatus(SwtlsException.INVALID_PARAMETER, () -> ch.unary(TestCollector.KEEP_ALIVE, new byte[0], -1), "-1");
            assertStatus(SwtlsException.INVALID_PARAMETER, () -> ch.flush(-5), "-5");
            assertStatus(SwtlsException.INVALID_PARAMETER, () -> ch.close(-1));
            assertFalse(ch.isClosed(), "a close with a bad timeout closes nothing");
        }
    }

    @Test
    void useAfterClose() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.PLAINTEXT)) {
            Channel ch = new Channel(config(server.address(), TestCerts.get().agentDir()));
            ch.report(TestCollector.COLLECT, new byte[] {1});
            ClientStream open = ch.openStream(TestCollector.COLLECT);
            ch.close();
            ch.close(); // a second close does nothing
            assertTrue(ch.isClosed());
            assertStatus(SwtlsException.CLOSED, () -> ch.unary(TestCollector.KEEP_ALIVE, new byte[0]), "channel");
            assertStatus(SwtlsException.CLOSED, () -> ch.report(TestCollector.COLLECT, new byte[0]), "channel");
            assertStatus(SwtlsException.CLOSED, ch::flush, "channel");
            assertStatus(SwtlsException.CLOSED, () -> ch.openStream(TestCollector.COLLECT), "channel");
            Stats last = ch.stats();
            assertNotNull(last);
            assertEquals(1, last.acknowledged);
            assertEquals(TlsMode.PLAINTEXT, ch.tlsMode());
            // A stream opened before close is a separate object: it still has to be closed.
            open.close();
            assertStatus(SwtlsException.CLOSED, open::finish, "stream");
        }
    }

    @Test
    void closeWhileOtherThreadsCall() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.PLAINTEXT)) {
            final Channel ch = new Channel(config(server.address(), TestCerts.get().agentDir()));
            final CountDownLatch started = new CountDownLatch(4);
            final AtomicLong ok = new AtomicLong();
            final AtomicReference<Throwable> unexpected = new AtomicReference<Throwable>();
            List<Thread> threads = new ArrayList<Thread>();
            for (int t = 0; t < 4; t++) {
                final int id = t;
                Thread th = new Thread(new Runnable() {
                    @Override
                    public void run() {
                        started.countDown();
                        for (int i = 0; i < 100000; i++) {
                            try {
                                if (id == 0 && i % 50 == 0) {
                                    ch.unary(TestCollector.KEEP_ALIVE, new byte[0], 5000);
                                } else {
                                    ch.report(TestCollector.COLLECT, new byte[] {(byte) i});
                                }
                                ok.incrementAndGet();
                                ch.stats();
                            } catch (SwtlsException e) {
                                if (e.getStatus() == SwtlsException.CLOSED) {
                                    return;
                                }
                                if (e.getStatus() != SwtlsException.RESOURCE_EXHAUSTED) {
                                    unexpected.compareAndSet(null, e);
                                    return;
                                }
                            } catch (Throwable e) {
                                unexpected.compareAndSet(null, e);
                                return;
                            }
                        }
                    }
                });
                th.start();
                threads.add(th);
            }
            started.await();
            Thread.sleep(50);
            ch.close(10000);
            for (Thread th : threads) {
                th.join(30000);
                assertFalse(th.isAlive());
            }
            if (unexpected.get() != null) {
                throw new AssertionError("unexpected failure in a calling thread", unexpected.get());
            }
            Stats last = ch.stats();
            assertInvariant(last);
            assertEquals(0, last.pending);
            assertTrue(ok.get() > 0);
            // At most once: what the client counts as acknowledged reached the server; a report that
            // raced with close may have reached it too and still be counted as dropped.
            long atServer = server.acknowledged.get();
            assertTrue(atServer >= last.acknowledged && atServer <= last.acknowledged + last.dropped(),
                    "server acknowledged " + atServer + ", client " + last);
        }
    }

    @Test
    void concurrentClosesBothReturnAndKeepTheFinalCounters() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.PLAINTEXT)) {
            final Channel ch = new Channel(config(server.address(), TestCerts.get().agentDir()));
            for (int i = 0; i < 200; i++) {
                ch.report(TestCollector.COLLECT, new byte[] {(byte) i});
            }
            final AtomicReference<Throwable> failure = new AtomicReference<Throwable>();
            Thread other = new Thread(new Runnable() {
                @Override
                public void run() {
                    try {
                        ch.close(10000);
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }
            });
            other.start();
            ch.close(10000);
            other.join(30000);
            assertFalse(other.isAlive());
            if (failure.get() != null) {
                throw new AssertionError("the other close failed", failure.get());
            }
            Stats last = ch.stats();
            assertInvariant(last);
            assertEquals(200, last.queued);
            assertEquals(0, last.pending);
            assertEquals(200, last.acknowledged);
            assertEquals(200, server.acknowledged.get());
        }
    }

    @Test
    void libraryPathThatDoesNotExist() throws Exception {
        // In a fresh JVM: the loader runs once per JVM.
        Subprocess.Result r = Subprocess.run("-Dswtls.library.path=/nonexistent/libswtls.so", "version");
        assertEquals(1, r.exit, r.output);
        assertTrue(r.output.contains("system property swtls.library.path names /nonexistent/libswtls.so, which does not exist"),
                r.output);
    }
}
