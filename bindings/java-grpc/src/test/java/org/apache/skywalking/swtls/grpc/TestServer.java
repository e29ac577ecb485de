package org.apache.skywalking.swtls.grpc;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSession;
import org.apache.skywalking.swtls.grpc.test.v3.Command;
import org.apache.skywalking.swtls.grpc.test.v3.Commands;
import org.apache.skywalking.swtls.grpc.test.v3.InstancePingPkg;
import org.apache.skywalking.swtls.grpc.test.v3.KeyStringValuePair;
import org.apache.skywalking.swtls.grpc.test.v3.ManagementServiceGrpc;
import org.apache.skywalking.swtls.grpc.test.v3.SegmentObject;
import org.apache.skywalking.swtls.grpc.test.v3.TraceSegmentReportServiceGrpc;

/**
 * A grpc-java (Netty) server on 127.0.0.1 standing in for the OAP backend, with grpc-java's
 * generated service bases: {@code ManagementService/keepAlive} and
 * {@code TraceSegmentReportService/collect}. It decodes and keeps what it receives, the
 * request metadata and cancellations, can require a token, and can stop reading streams
 * ({@link #pauseStreams()}) to make a slow server.
 *
 * <p>keepAlive answers {@code Commands{Command{command: "pong:<service>"}}}, except for
 * the services {@code "slow"} (answers after 5 s) and {@code "hang"} (never answers; records
 * the cancellation). collect answers {@code Commands{Command{command: "received",
 * args: [count=<n>]}}}.
 */
final class TestServer implements AutoCloseable {
    enum Mode {
        PLAINTEXT,
        MTLS
    }

    static final Metadata.Key<String> AUTHENTICATION = Metadata.Key.of("authentication", Metadata.ASCII_STRING_MARSHALLER);

    final ConcurrentLinkedQueue<InstancePingPkg> pings = new ConcurrentLinkedQueue<InstancePingPkg>();
    final ConcurrentLinkedQueue<SegmentObject> segments = new ConcurrentLinkedQueue<SegmentObject>();
    final ConcurrentLinkedQueue<Metadata> headers = new ConcurrentLinkedQueue<Metadata>();
    final ConcurrentLinkedQueue<Status> streamErrors = new ConcurrentLinkedQueue<Status>();
    final AtomicLong completedStreams = new AtomicLong();
    final CountDownLatch hangReceived = new CountDownLatch(1);
    final CountDownLatch hangCancelled = new CountDownLatch(1);
    final CountDownLatch streamFailed = new CountDownLatch(1);
    volatile boolean sawClientCertificate;

    private final Server server;
    private final String requiredToken;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private volatile CountDownLatch gate = new CountDownLatch(0);

    TestServer(Mode mode) throws Exception {
        this(mode, null);
    }

    TestServer(Mode mode, String requiredToken) throws Exception {
        this.requiredToken = requiredToken;
        ServerCredentials creds;
        if (mode == Mode.PLAINTEXT) {
            creds = InsecureServerCredentials.create();
        } else {
            TestCerts certs = TestCerts.get();
            creds = TlsServerCredentials.newBuilder()
                    .keyManager(certs.serverCrt, certs.serverKey)
                    .trustManager(certs.caCrt)
                    .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                    .build();
        }
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), creds)
                .addService(ServerInterceptors.intercept(new Management(), new Inspect()))
                .addService(ServerInterceptors.intercept(new Segments(), new Inspect()))
                .build()
                .start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    /** Streams stop reading: each collect call waits in its first message until {@link #resumeStreams()}. */
    void pauseStreams() {
        gate = new CountDownLatch(1);
    }

    void resumeStreams() {
        gate.countDown();
    }

    @Override
    public void close() {
        resumeStreams();
        timer.shutdownNow();
        server.shutdownNow();
        try {
            server.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static Commands commands(String command, String... args) {
        Command.Builder c = Command.newBuilder().setCommand(command);
        for (int i = 0; i + 1 < args.length; i += 2) {
            c.addArgs(KeyStringValuePair.newBuilder().setKey(args[i]).setValue(args[i + 1]));
        }
        return Commands.newBuilder().addCommands(c).build();
    }

    private final class Management extends ManagementServiceGrpc.ManagementServiceImplBase {
        @Override
        public void keepAlive(InstancePingPkg request, final StreamObserver<Commands> response) {
            pings.add(request);
            if (request.getService().equals("hang")) {
                ((ServerCallStreamObserver<Commands>) response).setOnCancelHandler(new Runnable() {
                    @Override
                    public void run() {
                        hangCancelled.countDown();
                    }
                });
                hangReceived.countDown();
                return; // never answers
            }
            final Commands answer = commands("pong:" + request.getService());
            if (request.getService().equals("slow")) {
                ((ServerCallStreamObserver<Commands>) response).setOnCancelHandler(new Runnable() {
                    @Override
                    public void run() {}
                });
                timer.schedule(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            response.onNext(answer);
                            response.onCompleted();
                        } catch (RuntimeException ignored) {
                            // cancelled meanwhile
                        }
                    }
                }, 5, TimeUnit.SECONDS);
                return;
            }
            response.onNext(answer);
            response.onCompleted();
        }
    }

    private final class Segments extends TraceSegmentReportServiceGrpc.TraceSegmentReportServiceImplBase {
        @Override
        public StreamObserver<SegmentObject> collect(final StreamObserver<Commands> response) {
            return new StreamObserver<SegmentObject>() {
                private long count;

                @Override
                public void onNext(SegmentObject segment) {
                    try {
                        gate.await(60, TimeUnit.SECONDS); // a paused server reads nothing more
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    count++;
                    segments.add(segment);
                }

                @Override
                public void onError(Throwable t) {
                    streamErrors.add(Status.fromThrowable(t));
                    streamFailed.countDown();
                }

                @Override
                public void onCompleted() {
                    completedStreams.incrementAndGet();
                    response.onNext(commands("received", "count", Long.toString(count)));
                    response.onCompleted();
                }
            };
        }
    }

    /** Records the request metadata and the TLS session; refuses a wrong token. */
    private final class Inspect implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata md, ServerCallHandler<Q, R> next) {
            headers.add(md);
            SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            if (ssl != null) {
                try {
                    sawClientCertificate = ssl.getPeerCertificates().length > 0;
                } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                    sawClientCertificate = false;
                }
            }
            if (requiredToken != null && !requiredToken.equals(md.get(AUTHENTICATION))) {
                call.close(Status.UNAUTHENTICATED.withDescription("authentication token refused"), new Metadata());
                return new ServerCall.Listener<Q>() {};
            }
            return next.startCall(call, md);
        }
    }
}
