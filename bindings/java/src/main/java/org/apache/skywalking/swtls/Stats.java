package org.apache.skywalking.swtls;

import java.util.HashMap;
import java.util.Map;

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

    /**
     * Called by the native library (src/jni/mod.rs) with the counters by their names in the C
     * header ({@code swtls_stats}): each field takes its own by name.
     */
    Stats(String[] names, long[] values, String backend) {
        Named c = new Named(names, values);
        queued = c.get("queued");
        sent = c.get("sent");
        acknowledged = c.get("acknowledged");
        pending = c.get("pending");
        droppedQueueFull = c.get("dropped_queue_full");
        droppedClosed = c.get("dropped_closed");
        droppedServerError = c.get("dropped_server_error");
        failedStreams = c.get("failed_streams");
        reconnects = c.get("reconnects");
        connectFailures = c.get("connect_failures");
        backendSwitches = c.get("backend_switches");
        bytesSent = c.get("bytes_sent");
        queuedBytes = c.get("queued_bytes");
        backendIndex = (int) c.get("backend_index");
        tlsMode = TlsMode.of(c.get("tls_mode"));
        this.backend = backend;
    }

    /** The counters the native library passed, by name. */
    private static final class Named {
        private final Map<String, Long> values = new HashMap<>();

        Named(String[] names, long[] values) {
            if (names.length != values.length) {
                throw new IllegalStateException(names.length + " counter names but " + values.length + " values");
            }
            for (int i = 0; i < names.length; i++) {
                this.values.put(names[i], values[i]);
            }
        }

        long get(String name) {
            Long v = values.get(name);
            if (v == null) {
                throw new IllegalStateException("the native library passed no counter " + name + ": " + values.keySet());
            }
            return v;
        }
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
