package bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/**
 * The {@code grpc-java} client: grpc-java over Netty ({@code grpc-netty-shaded}) with mutual
 * TLS from {@link GrpcSslContexts#forClient()}: trust ca.crt only, present client.crt and
 * client.pem; the server's certificate is checked against the target host (the default).
 * Messages are raw bytes through a byte-array marshaller (no generated code).
 */
public final class GrpcMain {
    public static void main(String[] args) {
        long tStart = System.nanoTime(); // "first": as early as possible
        Bench.main("grpc-java", tStart, args, flags -> new GrpcClient(flags));
    }

    private GrpcMain() {}

    /** byte[] in, byte[] out, as in grpc-java's pre-serialized messages example. */
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<byte[]>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream in) {
            try {
                ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(in.available(), 32));
                byte[] buf = new byte[4096];
                for (int n; (n = in.read(buf)) != -1; ) {
                    out.write(buf, 0, n);
                }
                return out.toByteArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private static final MethodDescriptor<byte[], byte[]> KEEP_ALIVE = method(MethodDescriptor.MethodType.UNARY,
            Bench.KEEP_ALIVE);
    private static final MethodDescriptor<byte[], byte[]> COLLECT = method(
            MethodDescriptor.MethodType.CLIENT_STREAMING, Bench.COLLECT);

    private static MethodDescriptor<byte[], byte[]> method(MethodDescriptor.MethodType type, String path) {
        return MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(type)
                .setFullMethodName(path.substring(1))
                .setRequestMarshaller(BYTES)
                .setResponseMarshaller(BYTES)
                .build();
    }

    private static final class GrpcClient implements Bench.Client {
        private final ManagedChannel channel;

        GrpcClient(Bench.Flags flags) throws IOException {
            File ca = new File(flags.certs);
            channel = NettyChannelBuilder.forAddress(flags.host, flags.port)
                    .sslContext(GrpcSslContexts.forClient()
                            .trustManager(new File(ca, "ca.crt"))
                            .keyManager(new File(ca, "client.crt"), new File(ca, "client.pem"))
                            .build())
                    .build();
        }

        @Override
        public void keepAlive() {
            ClientCalls.blockingUnaryCall(channel, KEEP_ALIVE,
                    CallOptions.DEFAULT.withDeadlineAfter(Bench.UNARY_DEADLINE_MILLIS, TimeUnit.MILLISECONDS),
                    Bench.PING);
        }

        @Override
        public Bench.Stream openStream() {
            FlowControlledStream s = new FlowControlledStream();
            ClientCalls.asyncClientStreamingCall(channel.newCall(COLLECT,
                    CallOptions.DEFAULT.withDeadlineAfter(Bench.STREAM_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)), s);
            return s;
        }

        @Override
        public void close() {
            channel.shutdown();
            try {
                channel.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * A client stream whose sender respects flow control, as grpc-java recommends: before
     * {@code onNext} it waits until {@link ClientCallStreamObserver#isReady()}, woken by the
     * on-ready handler, so that messages are not buffered without bound. A timed send is
     * that wait plus {@code onNext} (which frames the message on the calling thread).
     */
    private static final class FlowControlledStream implements Bench.Stream, ClientResponseObserver<byte[], byte[]> {
        private final Object lock = new Object();
        private ClientCallStreamObserver<byte[]> requests; // set by beforeStart, used by the sending thread only
        private byte[] response;
        private Throwable error;
        private boolean done;

        @Override
        public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
            requests = requestStream;
            requestStream.setOnReadyHandler(() -> {
                synchronized (lock) {
                    lock.notifyAll();
                }
            });
        }

        @Override
        public void send(byte[] message) throws Exception {
            if (!requests.isReady()) {
                synchronized (lock) {
                    while (!requests.isReady() && !done) {
                        lock.wait();
                    }
                    if (done) {
                        throw new IllegalStateException("the stream ended before it was finished", error);
                    }
                }
            }
            requests.onNext(message);
        }

        @Override
        public byte[] finish() throws Exception {
            requests.onCompleted();
            synchronized (lock) {
                while (!done) {
                    lock.wait();
                }
                if (error != null) {
                    throw new IllegalStateException("the stream failed", error);
                }
                if (response == null) {
                    throw new IllegalStateException("the stream completed without a response");
                }
                return response;
            }
        }

        @Override
        public void onNext(byte[] value) {
            synchronized (lock) {
                response = value;
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (lock) {
                error = t;
                done = true;
                lock.notifyAll();
            }
        }

        @Override
        public void onCompleted() {
            synchronized (lock) {
                done = true;
                lock.notifyAll();
            }
        }
    }
}
