package org.apache.skywalking.swtls.grpc;

import static org.apache.skywalking.swtls.grpc.Fixtures.assertStatus;
import static org.apache.skywalking.swtls.grpc.Fixtures.check;
import static org.apache.skywalking.swtls.grpc.Fixtures.mtls;
import static org.apache.skywalking.swtls.grpc.Fixtures.ping;
import static org.apache.skywalking.swtls.grpc.Fixtures.segment;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ConnectivityState;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.TlsMode;
import org.apache.skywalking.swtls.grpc.test.v3.Commands;
import org.apache.skywalking.swtls.grpc.test.v3.InstancePingPkg;
import org.apache.skywalking.swtls.grpc.test.v3.ManagementServiceGrpc;
import org.apache.skywalking.swtls.grpc.test.v3.SegmentObject;
import org.apache.skywalking.swtls.grpc.test.v3.TestStreamsServiceGrpc;
import org.apache.skywalking.swtls.grpc.test.v3.TraceSegmentReportServiceGrpc;
import org.junit.jupiter.api.Test;

/** grpc-java's generated stubs (blocking, future, async) on a SwtlsChannel, against a grpc-java server over mutual TLS. */
class StubsTest {
    @Test
    void blockingStubKeepAlive() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            assertEquals(TlsMode.MUTUAL_TLS, channel.swtls().tlsMode());
            Commands answer = ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("svc", "svc-1"));
            assertEquals("pong:svc", answer.getCommands(0).getCommand());
            InstancePingPkg got = server.pings.peek();
            assertEquals(ping("svc", "svc-1"), got, "the server decoded the request");
            assertEquals("GENERAL", got.getLayer());
            assertTrue(server.sawClientCertificate, "mutual TLS");
            assertEquals(server.address(), channel.authority());
        }
    }

    @Test
    void futureStubKeepAlive() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            ManagementServiceGrpc.ManagementServiceFutureStub stub = ManagementServiceGrpc.newFutureStub(channel);
            List<com.google.common.util.concurrent.ListenableFuture<Commands>> futures =
                    new ArrayList<com.google.common.util.concurrent.ListenableFuture<Commands>>();
            for (int i = 0; i < 10; i++) {
                futures.add(stub.keepAlive(ping("f" + i, "inst")));
            }
            for (int i = 0; i < 10; i++) {
                assertEquals("pong:f" + i, futures.get(i).get(20, TimeUnit.SECONDS).getCommands(0).getCommand());
            }
            assertEquals(10, server.pings.size());
        }
    }

    @Test
    void asyncStubCollectSendsSegmentsTheServerDecodes() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            Fixtures.Response response = new Fixtures.Response();
            StreamObserver<SegmentObject> requests = TraceSegmentReportServiceGrpc.newStub(channel).collect(response);
            List<SegmentObject> sent = new ArrayList<SegmentObject>();
            for (int i = 0; i < 25; i++) {
                SegmentObject s = segment(i, 100 + i);
                sent.add(s);
                requests.onNext(s);
            }
            requests.onCompleted();
            check(response.await(), Status.Code.OK);
            Commands answer = response.value.get();
            assertEquals("received", answer.getCommands(0).getCommand());
            assertEquals("25", answer.getCommands(0).getArgs(0).getValue());
            assertArrayEquals(sent.toArray(), server.segments.toArray(), "the server decoded every segment, in order");
            assertEquals("/op/24", new ArrayList<SegmentObject>(server.segments).get(24).getSpans(0).getOperationName());
            assertEquals(1, server.completedStreams.get());

            // And an empty stream.
            Fixtures.Response empty = new Fixtures.Response();
            TraceSegmentReportServiceGrpc.newStub(channel).collect(empty).onCompleted();
            check(empty.await(), Status.Code.OK);
            assertEquals("0", empty.value.get().getCommands(0).getArgs(0).getValue());
        }
    }

    @Test
    void metadataGoesAlongWithTheToken() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS, "s3cret");
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()).set("agent.authentication", "s3cret"))) {
            Metadata extra = new Metadata();
            Metadata.Key<String> agent = Metadata.Key.of("x-agent", Metadata.ASCII_STRING_MARSHALLER);
            Metadata.Key<byte[]> blob = Metadata.Key.of("trace-bin", Metadata.BINARY_BYTE_MARSHALLER);
            extra.put(agent, "java");
            extra.put(agent, "second");
            extra.put(blob, new byte[] {0, 1, (byte) 254, (byte) 255});
            ManagementServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(extra))
                    .keepAlive(ping("md", "1"));
            Fixtures.Response response = new Fixtures.Response();
            StreamObserver<SegmentObject> requests = TraceSegmentReportServiceGrpc.newStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(extra))
                    .collect(response);
            requests.onNext(segment(1, 10));
            requests.onCompleted();
            check(response.await(), Status.Code.OK);
            assertEquals(2, server.headers.size());
            for (Metadata md : server.headers) {
                assertEquals("s3cret", md.get(TestServer.AUTHENTICATION));
                List<String> agents = new ArrayList<String>();
                for (String v : md.getAll(agent)) {
                    agents.add(v);
                }
                assertEquals(java.util.Arrays.asList("java", "second"), agents);
                assertArrayEquals(new byte[] {0, 1, (byte) 254, (byte) 255}, md.get(blob));
            }

            // A key gRPC reserves fails the call, naming the key.
            Metadata reserved = new Metadata();
            reserved.put(Metadata.Key.of("grpc-custom", Metadata.ASCII_STRING_MARSHALLER), "x");
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> ManagementServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(reserved))
                    .keepAlive(ping("md", "2")), "grpc-custom");
        }
    }

    @Test
    void aWrongTokenIsUnauthenticated() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS, "s3cret");
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()).set("agent.authentication", "wrong-token"))) {
            Status s = assertStatus(Status.Code.UNAUTHENTICATED,
                    () -> ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("a", "b")), "refused");
            assertFalse(s.getDescription().contains("wrong-token"), "the token must not be shown: " + s);
            Fixtures.Response response = new Fixtures.Response();
            StreamObserver<SegmentObject> requests = TraceSegmentReportServiceGrpc.newStub(channel).collect(response);
            requests.onNext(segment(1, 10));
            requests.onCompleted();
            check(response.await(), Status.Code.UNAUTHENTICATED, "refused");
            assertTrue(server.pings.isEmpty() && server.segments.isEmpty());
        }
    }

    @Test
    void serverStreamingAndBidiAreUnimplementedNamingTheMethod() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            assertStatus(Status.Code.UNIMPLEMENTED, () -> {
                Iterator<Commands> it = TestStreamsServiceGrpc.newBlockingStub(channel).watch(ping("a", "b"));
                it.hasNext();
            }, "/skywalking.v3.TestStreamsService/watch", "SERVER_STREAMING", "unary and client-streaming");
            Fixtures.Response response = new Fixtures.Response();
            StreamObserver<InstancePingPkg> requests = TestStreamsServiceGrpc.newStub(channel).chat(response);
            requests.onNext(ping("a", "b"));
            requests.onCompleted();
            check(response.await(), Status.Code.UNIMPLEMENTED, "/skywalking.v3.TestStreamsService/chat", "BIDI_STREAMING");
            // Per-call credentials are refused rather than left out.
            assertStatus(Status.Code.UNIMPLEMENTED, () -> ManagementServiceGrpc.newBlockingStub(channel)
                    .withCallCredentials(new io.grpc.CallCredentials() {
                        @Override
                        public void applyRequestMetadata(RequestInfo info, java.util.concurrent.Executor e,
                                MetadataApplier applier) {
                            applier.apply(new Metadata());
                        }
                    })
                    .keepAlive(ping("a", "b")), "/skywalking.v3.ManagementService/keepAlive", "CallCredentials");
            // Nothing went to the server; the channel goes on working.
            assertTrue(server.headers.isEmpty());
            ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("a", "b"));
        }
    }

    @Test
    void swtlsErrorsBecomeStatusesWithTheirMessage() throws Exception {
        // TLS towards a plaintext server: swtls's SERVER_NOT_TLS, as UNAVAILABLE.
        try (TestServer plain = new TestServer(TestServer.Mode.PLAINTEXT);
                SwtlsChannel channel = new SwtlsChannel(mtls(plain.address()))) {
            Status s = assertStatus(Status.Code.UNAVAILABLE,
                    () -> ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("a", "b")), "SERVER_NOT_TLS: ");
            assertTrue(s.getCause() instanceof org.apache.skywalking.swtls.SwtlsException, "the cause: " + s.getCause());
        }
        // Nothing listening.
        try (SwtlsChannel channel = new SwtlsChannel(mtls("127.0.0.1:1"))) {
            assertStatus(Status.Code.UNAVAILABLE,
                    () -> ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("a", "b")), "127.0.0.1:1");
            assertEquals(ConnectivityState.TRANSIENT_FAILURE, channel.getState(false));
        }
    }

    @Test
    void statusTable() {
        assertEquals(Status.Code.UNAUTHENTICATED, Statuses.codeOf(16));
        assertEquals(Status.Code.CANCELLED, Statuses.codeOf(1));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, Statuses.codeOf(4));
        for (int tls = 400; tls <= 408; tls++) {
            assertEquals(Status.Code.UNAVAILABLE, Statuses.codeOf(tls), "code " + tls);
        }
        assertEquals(Status.Code.UNAVAILABLE, Statuses.codeOf(103));
        for (int c : new int[] {200, 201, 202, 300, 301, 302, 303, 304, 305}) {
            assertEquals(Status.Code.FAILED_PRECONDITION, Statuses.codeOf(c), "code " + c);
        }
        assertEquals(Status.Code.INVALID_ARGUMENT, Statuses.codeOf(104));
        for (int c : new int[] {100, 101, 102, 105}) {
            assertEquals(Status.Code.INTERNAL, Statuses.codeOf(c), "code " + c);
        }
        assertEquals(Status.Code.UNKNOWN, Statuses.codeOf(999));
        Status s = Statuses.of(new org.apache.skywalking.swtls.SwtlsException(400, "TLS_UNKNOWN_ISSUER", "issuer of x"));
        assertEquals("TLS_UNKNOWN_ISSUER: issuer of x", s.getDescription());
        Status g = Statuses.of(new org.apache.skywalking.swtls.SwtlsException(14, "UNAVAILABLE", "down"));
        assertEquals("down", g.getDescription());
    }

    @Test
    void stateAndClose() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS)) {
            Config config = mtls(server.address());
            SwtlsChannel channel = new SwtlsChannel(config);
            assertEquals(ConnectivityState.IDLE, channel.getState(false));
            ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("a", "b"));
            assertEquals(ConnectivityState.READY, channel.getState(false));
            channel.close();
            channel.close();
            assertEquals(ConnectivityState.SHUTDOWN, channel.getState(false));
            assertStatus(Status.Code.UNAVAILABLE,
                    () -> ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("a", "b")), "closed");

            // Over a caller's channel: close() leaves it open.
            try (org.apache.skywalking.swtls.Channel mine = new org.apache.skywalking.swtls.Channel(mtls(server.address()))) {
                SwtlsChannel over = new SwtlsChannel(mine);
                ManagementServiceGrpc.newBlockingStub(over).keepAlive(ping("a", "b"));
                over.close();
                assertFalse(mine.isClosed());
                ManagementServiceGrpc.newBlockingStub(new SwtlsChannel(mine)).keepAlive(ping("a", "c"));
            }
        }
    }
}
