package org.apache.skywalking.swtls;

/**
 * A snapshot of a channel's reporter counters, the backend in use and the TLS mode. All
 * counts are since the channel was made. In every snapshot:
 * {@code queued == acknowledged + droppedQueueFull + droppedClosed + droppedServerError + pending}.
 */
public final class Stats {
    /** Messages passed to report() on the open channel: queued, or dropped at once because the queue was full. */
    public final long queued;
    /** Messages written to a stream. */
    public final long sent;
    /** Messages on streams the server answered with OK: delivered. */
    public final long acknowledged;
    /** Messages neither acknowledged nor dropped yet: in a queue or on an open stream. */
    public final long pending;
    /** Messages report() dropped because the queue was full. */
    public final long droppedQueueFull;
    /** Messages dropped because the channel was closed before they were delivered. */
    public final long droppedClosed;
    /** Messages sent on a stream that then failed (never sent again: at most once). */
    public final long droppedServerError;
    /** Reporter streams that did not end with OK (including attempts that could not connect). */
    public final long failedStreams;
    /** Connections opened after the first one. */
    public final long reconnects;
    /** Connection attempts that failed (refused, not resolved, TLS handshake failed). */
    public final long connectFailures;
    /** Times the channel moved to another backend. */
    public final long backendSwitches;
    /** Bytes of the messages written to streams. */
    public final long bytesSent;
    /** Bytes waiting in the queues now. */
    public final long queuedBytes;
    /** Index of the backend in use in {@code collector.backend_service} (0 for the first). */
    public final int backendIndex;
    /** The backend in use as {@code host:port}. */
    public final String backend;
    /** The channel's TLS mode. */
    public final TlsMode tlsMode;

    /** Called by the native library; the order of {@code c} is that of src/jni/mod.rs. */
    Stats(long[] c, String backend) {
        queued = c[0];
        sent = c[1];
        acknowledged = c[2];
        pending = c[3];
        droppedQueueFull = c[4];
        droppedClosed = c[5];
        droppedServerError = c[6];
        failedStreams = c[7];
        reconnects = c[8];
        connectFailures = c[9];
        backendSwitches = c[10];
        bytesSent = c[11];
        queuedBytes = c[12];
        backendIndex = (int) c[13];
        tlsMode = TlsMode.of(c[14]);
        this.backend = backend;
    }

    /** Every message dropped, whatever the cause. */
    public long dropped() {
        return droppedQueueFull + droppedClosed + droppedServerError;
    }

    @Override
    public String toString() {
        return "Stats{queued=" + queued + ", sent=" + sent + ", acknowledged=" + acknowledged + ", pending=" + pending
                + ", droppedQueueFull=" + droppedQueueFull + ", droppedClosed=" + droppedClosed
                + ", droppedServerError=" + droppedServerError + ", failedStreams=" + failedStreams
                + ", reconnects=" + reconnects + ", connectFailures=" + connectFailures
                + ", backendSwitches=" + backendSwitches + ", bytesSent=" + bytesSent + ", queuedBytes=" + queuedBytes
                + ", backend=" + backend + " (#" + backendIndex + "), tlsMode=" + tlsMode + "}";
    }
}
