package org.apache.skywalking.swtls.grpc;

import static org.apache.skywalking.swtls.grpc.Fixtures.assertStatus;
import static org.apache.skywalking.swtls.grpc.Fixtures.check;
import static org.apache.skywalking.swtls.grpc.Fixtures.mtls;
import static org.apache.skywalking.swtls.grpc.Fixtures.ping;
import static org.apache.skywalking.swtls.grpc.Fixtures.segment;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.skywalking.swtls.grpc.test.v3.Commands;
import org.apache.skywalking.swtls.grpc.test.v3.InstancePingPkg;
import org.apache.skywalking.swtls.grpc.test.v3.ManagementServiceGrpc;
import org.apache.skywalking.swtls.grpc.test.v3.SegmentObject;
import org.apache.skywalking.swtls.grpc.test.v3.TraceSegmentReportServiceGrpc;
import org.junit.jupiter.api.Test;

/** Deadlines, cancellation, flow control and executors of calls on a SwtlsChannel. */
class CallControlTest {
    @Test
    void aDeadlineEndsTheCallWithDeadlineExceeded() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            long t0 = System.nanoTime();
            assertStatus(Status.Code.DEADLINE_EXCEEDED, () -> ManagementServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                    .keepAlive(ping("slow", "1")), "keepAlive");
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(took >= 250 && took < 3000, "the call took " + took + " ms for a 300 ms deadline (the server answers after 5 s)");

            // A Context's deadline counts too.
            java.util.concurrent.ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
            Context.CancellableContext ctx = Context.current().withDeadlineAfter(300, TimeUnit.MILLISECONDS, timer);
            try {
                Context prev = ctx.attach();
                try {
                    assertStatus(Status.Code.DEADLINE_EXCEEDED,
                            () -> ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("slow", "2")));
                } finally {
                    ctx.detach(prev);
                }
            } finally {
                ctx.cancel(null);
                timer.shutdownNow();
            }

            // A client stream to a server that stops reading.
            server.pauseStreams();
            Fixtures.Response response = new Fixtures.Response();
            io.grpc.stub.StreamObserver<SegmentObject> requests = TraceSegmentReportServiceGrpc.newStub(channel)
                    .withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                    .collect(response);
            requests.onNext(segment(1, 10));
            requests.onCompleted();
            check(response.await(), Status.Code.DEADLINE_EXCEEDED, "collect");

            // An expired deadline fails at once, before anything is sent.
            int before = server.pings.size();
            assertStatus(Status.Code.DEADLINE_EXCEEDED, () -> ManagementServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(-1, TimeUnit.MILLISECONDS)
                    .keepAlive(ping("a", "b")), "deadline");
            assertEquals(before, server.pings.size());
        }
    }

    @Test
    void cancellingAUnaryCallClosesTheListenerAndTheServerSeesIt() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            ClientCall<InstancePingPkg, Commands> call =
                    channel.newCall(ManagementServiceGrpc.getKeepAliveMethod(), CallOptions.DEFAULT);
            final AtomicReference<Status> closed = new AtomicReference<Status>();
            final AtomicInteger messages = new AtomicInteger();
            final CountDownLatch done = new CountDownLatch(1);
            call.start(new ClientCall.Listener<Commands>() {
                @Override
                public void onMessage(Commands message) {
                    messages.incrementAndGet();
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.set(status);
                    done.countDown();
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(ping("hang", "1"));
            call.halfClose();
            assertTrue(server.hangReceived.await(20, TimeUnit.SECONDS), "the server got the call");
            RuntimeException why = new RuntimeException("the agent is shutting down");
            call.cancel("stop now", why);
            assertTrue(done.await(10, TimeUnit.SECONDS), "the listener was closed");
            check(closed.get(), Status.Code.CANCELLED, "stop now");
            assertTrue(closed.get().getCause() == why);
            assertEquals(0, messages.get());
            assertTrue(server.hangCancelled.await(10, TimeUnit.SECONDS), "the server saw the call cancelled");
            call.cancel("again", null); // no effect
            Thread.sleep(100);
            assertEquals("stop now", closed.get().getDescription());

            // The future stub's cancel does the same.
            ListenableFuture<Commands> f = ManagementServiceGrpc.newFutureStub(channel).keepAlive(ping("slow", "2"));
            Thread.sleep(200);
            assertTrue(f.cancel(true));
            ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping("after", "3"));
        }
    }

    @Test
    void cancellingAStreamResetsItAndTheServerSeesIt() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            Fixtures.Response response = new Fixtures.Response();
            io.grpc.stub.StreamObserver<SegmentObject> requests = TraceSegmentReportServiceGrpc.newStub(channel).collect(response);
            for (int i = 0; i < 3; i++) {
                requests.onNext(segment(i, 10));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (server.segments.size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(3, server.segments.size());
            requests.onError(new IllegalStateException("abandoned"));
            check(response.await(), Status.Code.CANCELLED);
            assertTrue(server.streamFailed.await(10, TimeUnit.SECONDS), "the server saw the stream fail");
            assertEquals(Status.Code.CANCELLED, server.streamErrors.peek().getCode());
            assertEquals(0, server.completedStreams.get());
        }
    }

    @Test
    void isReadyFallsWithASlowServerAndOnReadyFiresWhenItDrains() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()).set("collector.grpc_upstream_timeout", "60"))) {
            server.pauseStreams();
            final AtomicReference<ClientCallStreamObserver<SegmentObject>> stream =
                    new AtomicReference<ClientCallStreamObserver<SegmentObject>>();
            final Semaphore onReady = new Semaphore(0);
            final Fixtures.Response response = new Fixtures.Response();
            TraceSegmentReportServiceGrpc.newStub(channel).collect(new ClientResponseObserver<SegmentObject, Commands>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<SegmentObject> requests) {
                    stream.set(requests);
                    requests.setOnReadyHandler(new Runnable() {
                        @Override
                        public void run() {
                            onReady.release();
                        }
                    });
                }

                @Override
                public void onNext(Commands value) {
                    response.onNext(value);
                }

                @Override
                public void onError(Throwable t) {
                    response.onError(t);
                }

                @Override
                public void onCompleted() {
                    response.onCompleted();
                }
            });
            ClientCallStreamObserver<SegmentObject> requests = stream.get();
            // A producer that follows flow control, sending 64 KiB segments to a server that
            // reads nothing: the HTTP/2 windows, then the stream's buffer fill, and isReady()
            // must turn false and stay false (no onReady for 2 s).
            int sent = 0;
            int waits = 0;
            while (true) {
                if (requests.isReady()) {
                    assertTrue(sent < 1000, "still ready after " + sent + " segments of 64 KiB to a server that reads nothing");
                    requests.onNext(segment(sent++, 64 * 1024));
                } else if (onReady.tryAcquire(2, TimeUnit.SECONDS)) {
                    waits++; // ready again (the worker caught up): go on
                } else {
                    break;
                }
            }
            assertTrue(sent > SwtlsClientCall.SEND_AHEAD, "not ready after " + sent + " segments");
            // sendMessage never blocks, also when the caller ignores isReady().
            long t0 = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                requests.onNext(segment(sent++, 64 * 1024));
            }
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(took < 2000, "20 sends to a full stream took " + took + " ms: sendMessage blocked");
            assertFalse(requests.isReady());
            onReady.drainPermits();
            Thread.sleep(300);
            assertFalse(requests.isReady(), "ready while the server reads nothing");

            // The server reads again: onReady fires once the stream drains.
            server.resumeStreams();
            boolean ready = false;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!ready && System.nanoTime() < until) {
                if (onReady.tryAcquire(1, TimeUnit.SECONDS)) {
                    ready = requests.isReady();
                }
            }
            assertTrue(ready, "onReady did not fire with isReady() true after the server drained the stream");
            requests.onNext(segment(sent++, 10));
            requests.onCompleted();
            check(response.await(), Status.Code.OK);
            assertEquals(Integer.toString(sent), response.value.get().getCommands(0).getArgs(0).getValue());
            assertEquals(sent, server.segments.size());
            System.out.println("flow control: not ready after " + (sent - 21) + " segments of 64 KiB (" + waits
                    + " onReady while the worker caught up)");
        }
    }

    @Test
    void callbacksRunOnTheCallOptionsExecutor() throws Exception {
        ExecutorService mine = Executors.newSingleThreadExecutor(r -> new Thread(r, "my-callbacks"));
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            Fixtures.Response response = new Fixtures.Response();
            ManagementServiceGrpc.newStub(channel).withExecutor(mine).keepAlive(ping("exec", "1"), response);
            check(response.await(), Status.Code.OK);
            assertEquals("my-callbacks", response.thread.get());
            Fixtures.Response other = new Fixtures.Response();
            ManagementServiceGrpc.newStub(channel).keepAlive(ping("exec", "2"), other);
            check(other.await(), Status.Code.OK);
            assertTrue(other.thread.get().startsWith("swtls-grpc-"), other.thread.get());
        } finally {
            mine.shutdownNow();
        }
    }

    @Test
    void misuseOfAUnaryCallFailsIt() throws Exception {
        try (TestServer server = new TestServer(TestServer.Mode.MTLS);
                SwtlsChannel channel = new SwtlsChannel(mtls(server.address()))) {
            ClientCall<InstancePingPkg, Commands> call =
                    channel.newCall(ManagementServiceGrpc.getKeepAliveMethod(), CallOptions.DEFAULT);
            final AtomicReference<Status> closed = new AtomicReference<Status>();
            final CountDownLatch done = new CountDownLatch(1);
            call.start(new ClientCall.Listener<Commands>() {
                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.set(status);
                    done.countDown();
                }
            }, new Metadata());
            call.halfClose();
            assertTrue(done.await(10, TimeUnit.SECONDS));
            check(closed.get(), Status.Code.INTERNAL, "without a request message");
            assertNull(server.pings.peek());
        }
    }
}
