package org.apache.skywalking.swtls;

import static org.apache.skywalking.swtls.Fixtures.assertInvariant;
import static org.apache.skywalking.swtls.Fixtures.assertStatus;
import static org.apache.skywalking.swtls.Fixtures.config;
import static org.apache.skywalking.swtls.Fixtures.ping;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Unary, client-streaming and reported calls over mutual TLS, and a refused token. */
class CallsTest {
    private static Path mtlsDir() throws Exception {
        return TestCerts.get().agentDir("ca.crt", "client.crt", "client.pem");
    }

    @Test
    void unaryManyTimesSharesTheConnection() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), mtlsDir()))) {
            for (int i = 0; i < 20; i++) {
                ch.unary(TestCollector.KEEP_ALIVE, ping("svc", "inst-" + i));
            }
            assertEquals(20, server.keepAlives.get());
            assertEquals(0, ch.stats().reconnects);
        }
    }

    @Test
    void unknownMethodIsUnimplemented() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), mtlsDir()))) {
            assertStatus(SwtlsException.UNIMPLEMENTED, () -> ch.unary("/skywalking.v3.Nope/nothing", new byte[0], 5000));
        }
    }

    @Test
    void clientStream() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), mtlsDir()))) {
            byte[] response;
            try (ClientStream s = ch.openStream(TestCollector.COLLECT, 10000)) {
                for (int i = 0; i < 50; i++) {
                    s.send(("segment-" + i).getBytes("UTF-8"));
                }
                response = s.finish();
                assertStatus(SwtlsException.CLOSED, s::finish, TestCollector.COLLECT);
                assertStatus(SwtlsException.CLOSED, () -> s.send(new byte[] {1}));
            }
            assertArrayEquals(TestCollector.COLLECT_RESPONSE, response);
            assertEquals(50, server.acknowledged.get());
            assertEquals(1, server.streams.get());
        }
    }

    @Test
    void closingAnUnfinishedStreamCancelsIt() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), mtlsDir()))) {
            ClientStream s = ch.openStream(TestCollector.COLLECT);
            s.send(new byte[] {1, 2, 3});
            s.close();
            s.close(); // a second close does nothing
            assertStatus(SwtlsException.CLOSED, () -> s.send(new byte[] {4}), "stream");
            assertStatus(SwtlsException.CLOSED, s::finish, "stream");
            // The server never acknowledges a cancelled stream; the channel goes on working.
            ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"));
            assertEquals(0, server.acknowledged.get());
        }
    }

    @Test
    void reportFlushAndCounters() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS)) {
            Channel ch = new Channel(config(server.address(), mtlsDir()));
            byte[] segment = new byte[300];
            for (int i = 0; i < 500; i++) {
                segment[0] = (byte) i;
                ch.report(TestCollector.COLLECT, segment);
                if (i % 100 == 0) {
                    assertInvariant(ch.stats());
                }
            }
            ch.flush(20000);
            Stats s = ch.stats();
            assertInvariant(s);
            assertEquals(500, s.queued);
            assertEquals(500, s.acknowledged);
            assertEquals(0, s.pending);
            assertEquals(0, s.dropped());
            assertEquals(500L * 300, s.bytesSent);
            assertEquals(server.address(), s.backend);
            assertEquals(0, s.backendIndex);
            assertEquals(500, server.received.get());

            ch.report(TestCollector.COLLECT, segment);
            ch.close(20000);
            Stats last = ch.stats();
            assertInvariant(last);
            assertEquals(501, last.queued);
            assertEquals(501, last.acknowledged);
            assertEquals(501, server.acknowledged.get());
            assertTrue(ch.isClosed());
        }
    }

    @Test
    void reportEmptyAndLargeMessages() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
                Channel ch = new Channel(config(server.address(), mtlsDir()))) {
            byte[] large = new byte[2 * 1024 * 1024];
            large[large.length - 1] = 42;
            ch.report(TestCollector.COLLECT, new byte[0]);
            ch.report(TestCollector.COLLECT, large);
            ch.report(TestCollector.COLLECT, new byte[] {7});
            ch.flush(20000);
            Stats s = ch.stats();
            assertEquals(3, s.acknowledged);
            assertEquals(large.length + 1, s.bytesSent);
            assertEquals(3, server.acknowledged.get());
        }
    }

    @Test
    void queueFullDropsAndCounts() throws Exception {
        // A port nothing listens on: the reporter cannot deliver, so the queue fills up.
        Path dir = TestCerts.get().agentDir();
        Channel ch = new Channel(config("127.0.0.1:1", dir).set("swtls.report_queue_messages", "5"));
        int refused = 0;
        for (int i = 0; i < 50; i++) {
            try {
                ch.report(TestCollector.COLLECT, new byte[] {(byte) i});
            } catch (SwtlsException e) {
                assertEquals(SwtlsException.RESOURCE_EXHAUSTED, e.getStatus(), e.getMessage());
                refused++;
            }
        }
        Stats s = ch.stats();
        assertInvariant(s);
        assertEquals(50, s.queued);
        assertEquals(refused, s.droppedQueueFull);
        assertTrue(refused > 0, "the queue holds 5 messages and nothing is delivered, yet none was refused");
        SwtlsException e = org.junit.jupiter.api.Assertions.assertThrows(SwtlsException.class, () -> ch.close(300));
        assertTrue(e.getStatus() == SwtlsException.DEADLINE_EXCEEDED || e.getStatus() == SwtlsException.UNAVAILABLE,
                e.getMessage());
        Stats last = ch.stats();
        assertInvariant(last);
        assertEquals(0, last.pending);
        assertEquals(0, last.acknowledged);
        assertEquals(50, last.dropped());
    }

    @Test
    void tokenIsSentAndAWrongOneRefused() throws Exception {
        try (TestCollector server = new TestCollector(TestCollector.Mode.MTLS, "s3cret")) {
            try (Channel ch = new Channel(config(server.address(), mtlsDir()).set("agent.authentication", "s3cret"))) {
                ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b"));
                assertEquals("s3cret", server.lastAuthentication);
                ch.report(TestCollector.COLLECT, new byte[] {1});
                ch.flush(10000);
                assertEquals(1, server.acknowledged.get());
            }
            try (Channel ch = new Channel(config(server.address(), mtlsDir()).set("agent.authentication", "wrong"))) {
                SwtlsException e = assertStatus(SwtlsException.UNAUTHENTICATED,
                        () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b")));
                assertTrue(!e.getMessage().contains("wrong"), "the token must not be shown: " + e.getMessage());
                ch.report(TestCollector.COLLECT, new byte[] {1});
                ch.report(TestCollector.COLLECT, new byte[] {2});
                assertStatus(SwtlsException.UNAUTHENTICATED, () -> ch.flush(10000));
                Stats s = ch.stats();
                assertInvariant(s);
                assertEquals(0, s.acknowledged);
                assertEquals(2, s.dropped());
                assertTrue(s.failedStreams >= 1);
                assertEquals(1, server.acknowledged.get());
            }
            try (Channel ch = new Channel(config(server.address(), mtlsDir()))) {
                assertStatus(SwtlsException.UNAUTHENTICATED, () -> ch.unary(TestCollector.KEEP_ALIVE, ping("a", "b")));
                assertEquals(null, server.lastAuthentication);
            }
        }
    }

    @Test
    void unreachableBackendIsUnavailable() throws Exception {
        try (Channel ch = new Channel(config("127.0.0.1:1", TestCerts.get().agentDir()))) {
            assertStatus(SwtlsException.UNAVAILABLE, () -> ch.unary(TestCollector.KEEP_ALIVE, new byte[0], 5000),
                    "127.0.0.1:1");
        }
    }
}
