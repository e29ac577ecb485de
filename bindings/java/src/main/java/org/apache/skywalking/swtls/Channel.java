package org.apache.skywalking.swtls;

/**
 * A channel to the configured backends, over TLS, mutual TLS or plaintext as the files
 * decide (see {@link #tlsMode()}), with a background reporter ({@link #report}).
 *
 * <p>Thread-safe: any number of threads may call a channel at once; they share its
 * connections. {@link #close()} may run while other threads still call it: calls already in
 * flight finish first, later ones throw {@code CLOSED}. Always close a channel (it owns
 * connections and threads of the native library); a second close does nothing.
 *
 * <p>Method paths are full gRPC paths such as {@code /skywalking.v3.ManagementService/keepAlive};
 * messages are encoded protobuf bytes. A timeout of 0 means {@code collector.grpc_upstream_timeout}.
 */
public final class Channel implements AutoCloseable {
    private final NativeHandle handle;
    private final TlsMode tlsMode;
    private final String tlsReason;
    private volatile Stats finalStats;

    /**
     * Decides the TLS mode, loads and checks every certificate and key file (errors name the
     * file) and prepares the connections. Does not connect: the first call does.
     */
    public Channel(Config config) {
        long h = Native.channelNew(config.entries());
        this.handle = new NativeHandle(h, "channel") {
            @Override
            void freeNative(long handle) {
                Native.channelFree(handle);
            }
        };
        this.tlsMode = TlsMode.of(Native.channelTlsMode(h));
        this.tlsReason = Native.channelTlsReason(h);
    }

    /** The transport in use. */
    public TlsMode tlsMode() {
        return tlsMode;
    }

    /** Why that mode was chosen, in words (which files were found, which were missing). */
    public String tlsReason() {
        return tlsReason;
    }

    /** One unary call with the default timeout; returns the response message. */
    public byte[] unary(String method, byte[] request) {
        return unary(method, request, 0);
    }

    /**
     * One unary call: blocks the calling thread until the response, an error or the timeout.
     * Throws {@link SwtlsException} with the gRPC status the call ended with (1 to 16) or a
     * swtls code (TLS, connection).
     */
    public byte[] unary(String method, byte[] request, long timeoutMillis) {
        long h = handle.acquire();
        try {
            return Native.channelUnary(h, method, request, timeoutMillis);
        } finally {
            handle.release();
        }
    }

    /**
     * One unary call with per-call options: a timeout, request metadata (in addition to the
     * configured token) and a {@link Cancellation} that ends the call with {@code CANCELLED}
     * from another thread. Blocks like {@link #unary(String, byte[], long)}.
     */
    public byte[] unary(String method, byte[] request, CallOptions options) {
        long h = handle.acquire();
        try {
            Cancellation c = options.cancellation();
            long ch = c == null ? 0 : c.acquire();
            try {
                return Native.channelUnaryWith(h, method, request, options.timeoutMillis(), options.metadataKeys(),
                        options.metadataValues(), ch);
            } finally {
                if (c != null) {
                    c.release();
                }
            }
        } finally {
            handle.release();
        }
    }

    /** Opens a client-streaming call with the default timeout (which bounds the whole stream). */
    public ClientStream openStream(String method) {
        return openStream(method, 0);
    }

    /** Opens a client-streaming call; {@code timeoutMillis} bounds the whole stream. */
    public ClientStream openStream(String method, long timeoutMillis) {
        long h = handle.acquire();
        try {
            return new ClientStream(Native.channelOpenStream(h, method, timeoutMillis));
        } finally {
            handle.release();
        }
    }

    /**
     * Opens a client-streaming call with per-call options (timeout for the whole stream,
     * request metadata, a {@link Cancellation}; {@link ClientStream#cancel()} cancels it too).
     * Returns at once: the connection is made in the background.
     */
    public ClientStream openStream(String method, CallOptions options) {
        long h = handle.acquire();
        try {
            Cancellation c = options.cancellation();
            long ch = c == null ? 0 : c.acquire();
            try {
                return new ClientStream(Native.channelOpenStreamWith(h, method, options.timeoutMillis(),
                        options.metadataKeys(), options.metadataValues(), ch));
            } finally {
                if (c != null) {
                    c.release();
                }
            }
        } finally {
            handle.release();
        }
    }

    /**
     * The channel's connectivity: {@code IDLE} before the first connection, {@code CONNECTING},
     * {@code READY}, {@code TRANSIENT_FAILURE} after the last attempt failed, {@code SHUTDOWN}
     * once closed. With {@code tryToConnect}, an idle channel starts connecting (in the background).
     */
    public Connectivity connectivity(boolean tryToConnect) {
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return Connectivity.SHUTDOWN;
        }
        try {
            return Connectivity.of(Native.channelConnectivity(h, tryToConnect));
        } finally {
            handle.release();
        }
    }

    /**
     * Queues one message for a client-streaming {@code method} (e.g.
     * {@code /skywalking.v3.TraceSegmentReportService/collect}) and returns at once; a
     * background task streams the queue to the backend. The bytes are copied.
     *
     * @throws SwtlsException {@code RESOURCE_EXHAUSTED} when the queue was full and the message
     *     was dropped (counted in {@link Stats#droppedQueueFull}), {@code CLOSED} after close,
     *     {@code INVALID_METHOD} for a bad path
     */
    public void report(String method, byte[] message) {
        long h = handle.acquire();
        try {
            Native.channelReport(h, method, message);
        } finally {
            handle.release();
        }
    }

    /** {@link #flush(long)} with the default timeout. */
    public void flush() {
        flush(0);
    }

    /**
     * Waits until every message reported before the call was acknowledged by the server.
     *
     * @throws SwtlsException {@code DEADLINE_EXCEEDED} when time ran out (the rest stays
     *     queued), or the status of the failure when some messages were dropped after a server
     *     error (e.g. {@code UNAUTHENTICATED})
     */
    public void flush(long timeoutMillis) {
        long h = handle.acquire();
        try {
            Native.channelFlush(h, timeoutMillis);
        } finally {
            handle.release();
        }
    }

    /** The reporter's counters, the backend in use and the TLS mode; after close, the final counters. */
    public Stats stats() {
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return finalStats;
        }
        try {
            return Native.channelStats(h);
        } finally {
            handle.release();
        }
    }

    /** True once {@link #close()} returned (or is freeing the channel). */
    public boolean isClosed() {
        return handle.isFreed();
    }

    /** {@link #close(long)} with the default timeout. */
    @Override
    public void close() {
        close(0);
    }

    /**
     * Delivers what is queued for up to {@code timeoutMillis}, drops what is left (counted in
     * {@link Stats#droppedClosed}), stops the background tasks, closes the connections and
     * frees the native channel. The channel is closed whatever happens; a later close does
     * nothing.
     *
     * @throws SwtlsException as {@link #flush(long)} when not everything was delivered
     */
    public void close(long timeoutMillis) {
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return;
        }
        SwtlsException error = null;
        boolean closedHere = true;
        try {
            Native.channelClose(h, timeoutMillis);
        } catch (SwtlsException e) {
            if (e.getStatus() == SwtlsException.INVALID_PARAMETER) {
                handle.release();
                throw e; // a bad timeout: nothing was closed
            }
            if (e.getStatus() == SwtlsException.CLOSED) {
                closedHere = false; // another thread's close() is at work: it records the final counters
            } else {
                error = e;
            }
        }
        try {
            if (closedHere) {
                finalStats = Native.channelStats(h);
            }
        } finally {
            handle.release();
        }
        handle.free(); // waits for calls in flight, including another thread's close()
        if (error != null) {
            throw error;
        }
    }
}
