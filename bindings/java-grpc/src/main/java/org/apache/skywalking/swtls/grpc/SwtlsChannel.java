package org.apache.skywalking.swtls.grpc;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.Connectivity;

/**
 * An {@link io.grpc.Channel} over swtls: grpc-java's generated stubs (blocking, future and
 * async) run on it unchanged, for unary and client-streaming methods, with swtls's TLS,
 * backend list, failover and token.
 *
 * <pre>{@code
 * try (SwtlsChannel channel = new SwtlsChannel(Config.fromEnvironment())) {
 *     Commands commands = ManagementServiceGrpc.newBlockingStub(channel).keepAlive(ping);
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Deadlines: {@link CallOptions#getDeadline()} (or the current {@link io.grpc.Context}'s,
 *       whichever is sooner) is the call's deadline; without one, a call gets
 *       {@code collector.grpc_upstream_timeout}, as every swtls call.</li>
 *   <li>Metadata given to {@link ClientCall#start} (ASCII and {@code -bin} keys) is sent in
 *       addition to the configured {@code agent.authentication} token. Keys that gRPC or
 *       HTTP/2 reserve ({@code grpc-*}, {@code content-type}, {@code user-agent}, ...) fail
 *       the call with {@code INVALID_ARGUMENT}.</li>
 *   <li>Cancellation ({@link ClientCall#cancel}, a cancelled {@link io.grpc.Context}) resets the
 *       call; the listener gets {@code CANCELLED}.</li>
 *   <li>Client streams: {@link ClientCall#sendMessage} never blocks; {@link ClientCall#isReady()}
 *       follows the stream's buffer and {@code onReady} fires when it drains.</li>
 *   <li>Listener callbacks run on {@link CallOptions#getExecutor()} if set, else on a shared
 *       pool of daemon threads, which also does the calls' blocking work.</li>
 *   <li>Failures are {@link Status}es: see {@link Statuses} for how swtls's own codes (TLS,
 *       configuration, files) map.</li>
 *   <li>Server-streaming and bidirectional methods fail with {@code UNIMPLEMENTED}, and so do
 *       calls with per-call {@link io.grpc.CallCredentials} (never sent without them).</li>
 *   <li>No response headers or trailers reach the listener (they are empty).</li>
 * </ul>
 *
 * <p>Thread-safe. {@link #close()} closes the swtls channel it made (delivering what its
 * reporter still holds); calls made after it fail with {@code UNAVAILABLE}.
 */
public final class SwtlsChannel extends io.grpc.Channel implements AutoCloseable {
    /** Blocking work of calls (unary calls, stream senders) and, by default, listener callbacks. */
    private static final ExecutorService SHARED = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
            new SynchronousQueue<Runnable>(), new ThreadFactory() {
                private final AtomicInteger n = new AtomicInteger();

                @Override
                public Thread newThread(Runnable r) {
                    Thread t = new Thread(r, "swtls-grpc-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }
            });

    private final Channel channel;
    private final boolean owned;
    private final Executor defaultExecutor;

    /** Makes a swtls channel from {@code config} (errors as {@link org.apache.skywalking.swtls.SwtlsException}) and owns it. */
    public SwtlsChannel(Config config) {
        this(new Channel(config), true, null);
    }

    /**
     * Like {@link #SwtlsChannel(Config)}, with {@code executor} for the listener callbacks of
     * calls whose {@link CallOptions} name none ({@code null}: the shared pool).
     */
    public SwtlsChannel(Config config, Executor executor) {
        this(new Channel(config), true, executor);
    }

    /**
     * Over an existing swtls channel, which stays the caller's: {@link #close()} does not
     * close it. The same channel can serve {@link Channel#report} and stubs at once.
     */
    public SwtlsChannel(Channel channel) {
        this(channel, false, null);
    }

    private SwtlsChannel(Channel channel, boolean owned, Executor executor) {
        if (channel == null) {
            throw new NullPointerException("channel");
        }
        this.channel = channel;
        this.owned = owned;
        this.defaultExecutor = executor != null ? executor : SHARED;
    }

    /** The swtls channel underneath (TLS mode, counters, the reporter). */
    public Channel swtls() {
        return channel;
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(MethodDescriptor<ReqT, RespT> method, CallOptions callOptions) {
        Executor executor = callOptions.getExecutor() != null ? callOptions.getExecutor() : defaultExecutor;
        MethodDescriptor.MethodType type = method.getType();
        if (type != MethodDescriptor.MethodType.UNARY && type != MethodDescriptor.MethodType.CLIENT_STREAMING) {
            return new FailedClientCall<ReqT, RespT>(Status.UNIMPLEMENTED.withDescription("/"
                    + method.getFullMethodName() + " is a " + type
                    + " method; swtls carries unary and client-streaming calls only"), executor);
        }
        if (callOptions.getCredentials() != null) {
            // Failing beats sending the call without the credentials the caller asked for.
            return new FailedClientCall<ReqT, RespT>(Status.UNIMPLEMENTED.withDescription("/"
                    + method.getFullMethodName() + ": per-call CallCredentials are not supported by swtls;"
                    + " set agent.authentication, or add metadata with a ClientInterceptor"), executor);
        }
        if (channel.isClosed()) {
            return new FailedClientCall<ReqT, RespT>(
                    Status.UNAVAILABLE.withDescription("the swtls channel is closed"), executor);
        }
        return new SwtlsClientCall<ReqT, RespT>(channel, method, callOptions, executor, SHARED);
    }

    /** The backend calls go to now ({@code host:port}). */
    @Override
    public String authority() {
        return channel.stats().backend;
    }

    /**
     * The channel's connectivity, as {@link io.grpc.ManagedChannel#getState} reports it; with
     * {@code requestConnection}, an idle channel starts connecting.
     */
    public ConnectivityState getState(boolean requestConnection) {
        Connectivity c = channel.connectivity(requestConnection);
        switch (c) {
            case IDLE:
                return ConnectivityState.IDLE;
            case CONNECTING:
                return ConnectivityState.CONNECTING;
            case READY:
                return ConnectivityState.READY;
            case TRANSIENT_FAILURE:
                return ConnectivityState.TRANSIENT_FAILURE;
            default:
                return ConnectivityState.SHUTDOWN;
        }
    }

    /** Closes the swtls channel if this object made it (see {@link Channel#close()}); a second close does nothing. */
    @Override
    public void close() {
        if (owned) {
            channel.close();
        }
    }
}
