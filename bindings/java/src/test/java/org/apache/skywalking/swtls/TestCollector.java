package org.apache.skywalking.swtls;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * A grpc-java (Netty) server on 127.0.0.1 standing in for the OAP backend: the unary
 * {@code ManagementService/keepAlive} and the client-streaming
 * {@code TraceSegmentReportService/collect}, with raw byte[] messages (no protoc needed).
 * It counts what it receives, and can require an {@code authentication} token.
 */
final class TestCollector implements AutoCloseable {
    enum Mode {
        PLAINTEXT,
        TLS,
        MTLS
    }

    static final String KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive";
    static final String COLLECT = "/skywalking.v3.TraceSegmentReportService/collect";
    static final byte[] KEEP_ALIVE_RESPONSE = {0x0a, 0x00}; // Commands{commands: [Command{}]}: non-empty on purpose
    static final byte[] COLLECT_RESPONSE = {};

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<byte[]>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                byte[] buf = new byte[8192];
                int n;
                while ((n = stream.read(buf)) > 0) {
                    out.write(buf, 0, n);
                }
                return out.toByteArray();
            } catch (IOException e) {
                throw Status.INTERNAL.withCause(e).asRuntimeException();
            }
        }
    };
    private static final Metadata.Key<String> AUTHENTICATION =
            Metadata.Key.of("authentication", Metadata.ASCII_STRING_MARSHALLER);

    final AtomicLong keepAlives = new AtomicLong();
    /** Messages received on collect streams. */
    final AtomicLong received = new AtomicLong();
    /** Messages on collect streams that completed normally (what the server acknowledged). */
    final AtomicLong acknowledged = new AtomicLong();
    final AtomicLong streams = new AtomicLong();
    final ConcurrentLinkedQueue<byte[]> keepAliveBodies = new ConcurrentLinkedQueue<byte[]>();
    volatile String lastAuthentication;
    /** The request metadata of the last call. */
    volatile Metadata lastHeaders;
    volatile String lastClientSubject;
    volatile boolean sawTls;

    private final Server server;
    private final String requiredToken;

    TestCollector(Mode mode) throws Exception {
        this(mode, null);
    }

    TestCollector(Mode mode, String requiredToken) throws Exception {
        this.requiredToken = requiredToken;
        ServerCredentials creds;
        if (mode == Mode.PLAINTEXT) {
            creds = InsecureServerCredentials.create();
        } else {
            TestCerts certs = TestCerts.get();
            TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder().keyManager(certs.serverCrt, certs.serverKey);
            if (mode == Mode.MTLS) {
                b.trustManager(certs.caCrt).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
            }
            creds = b.build();
        }
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), creds)
                .addService(ServerInterceptors.intercept(management(), new Inspect()))
                .addService(ServerInterceptors.intercept(traceSegments(), new Inspect()))
                .build()
                .start();
    }

    int port() {
        return server.getPort();
    }

    String address() {
        return "127.0.0.1:" + port();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static MethodDescriptor<byte[], byte[]> method(String path, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(type)
                .setFullMethodName(path.substring(1))
                .setRequestMarshaller(BYTES)
                .setResponseMarshaller(BYTES)
                .build();
    }

    private ServerServiceDefinition management() {
        return ServerServiceDefinition.builder("skywalking.v3.ManagementService")
                .addMethod(method(KEEP_ALIVE, MethodDescriptor.MethodType.UNARY),
                        ServerCalls.asyncUnaryCall(new ServerCalls.UnaryMethod<byte[], byte[]>() {
                            @Override
                            public void invoke(byte[] request, StreamObserver<byte[]> response) {
                                keepAlives.incrementAndGet();
                                keepAliveBodies.add(request);
                                response.onNext(KEEP_ALIVE_RESPONSE);
                                response.onCompleted();
                            }
                        }))
                .build();
    }

    private ServerServiceDefinition traceSegments() {
        return ServerServiceDefinition.builder("skywalking.v3.TraceSegmentReportService")
                .addMethod(method(COLLECT, MethodDescriptor.MethodType.CLIENT_STREAMING),
                        ServerCalls.asyncClientStreamingCall(new ServerCalls.ClientStreamingMethod<byte[], byte[]>() {
                            @Override
                            public StreamObserver<byte[]> invoke(final StreamObserver<byte[]> response) {
                                streams.incrementAndGet();
                                return new StreamObserver<byte[]>() {
                                    private long count;

                                    @Override
                                    public void onNext(byte[] message) {
                                        count++;
                                        received.incrementAndGet();
                                    }

                                    @Override
                                    public void onError(Throwable t) {}

                                    @Override
                                    public void onCompleted() {
                                        acknowledged.addAndGet(count);
                                        response.onNext(COLLECT_RESPONSE);
                                        response.onCompleted();
                                    }
                                };
                            }
                        }))
                .build();
    }

    /** Records the token and the client certificate, and refuses a wrong token. */
    private final class Inspect implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
                ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String token = headers.get(AUTHENTICATION);
            lastAuthentication = token;
            lastHeaders = headers;
            SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            sawTls = ssl != null;
            if (ssl != null) {
                try {
                    Certificate[] peer = ssl.getPeerCertificates();
                    lastClientSubject = ((X509Certificate) peer[0]).getSubjectX500Principal().getName();
                } catch (SSLPeerUnverifiedException e) {
                    lastClientSubject = null;
                }
            }
            if (requiredToken != null && !requiredToken.equals(token)) {
                call.close(Status.UNAUTHENTICATED.withDescription("authentication token refused"), new Metadata());
                return new ServerCall.Listener<Q>() {};
            }
            return next.startCall(call, headers);
        }
    }
}
