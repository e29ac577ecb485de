package org.apache.skywalking.swtls;

/**
 * An open client-streaming call: {@link #send} messages, then {@link #finish()} for the
 * server's response, then {@link #close()}. Closing an unfinished stream cancels the call.
 * Calls from several threads are serialized; messages from concurrent senders interleave
 * in no defined order.
 */
public final class ClientStream implements AutoCloseable {
    private final NativeHandle handle;

    ClientStream(long h) {
        this.handle = new NativeHandle(h, "stream") {
            @Override
            void freeNative(long handle) {
                Native.streamFree(handle);
            }
        };
    }

    /**
     * Sends one message (copied); waits only while the stream's small buffer is full. When
     * the call already ended, throws how it ended; after {@link #finish()}, {@code CLOSED}.
     */
    public void send(byte[] message) {
        long h = handle.acquire();
        try {
            Native.streamSend(h, message);
        } finally {
            handle.release();
        }
    }

    /** Ends the stream and waits for the server's response; a second finish throws {@code CLOSED}. */
    public byte[] finish() {
        long h = handle.acquire();
        try {
            return Native.streamFinish(h);
        } finally {
            handle.release();
        }
    }

    /** What {@link #awaitReady(long)} found (in the order of the library's {@code Readiness} numbering). */
    public enum Readiness {
        /** A send would not wait now. */
        READY,
        /** The time ran out with the stream's buffer still full. */
        FULL,
        /**
         * The stream takes no more messages: it was finished or cancelled, or the call is over
         * ({@link #send} or {@link #finish()} then says how it ended).
         */
        CLOSED
    }

    /**
     * Cancels the call from any thread, also while another thread blocks in {@link #send} or
     * {@link #finish()} (which then throw {@code CANCELLED}); the server sees the call reset.
     * The stream must still be closed. Idempotent; does nothing after close.
     */
    public void cancel() {
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return;
        }
        try {
            Native.streamCancel(h);
        } finally {
            handle.release();
        }
    }

    /**
     * True when {@link #send} would not wait now (the stream's buffer has room); false once the
     * stream is finished, cancelled, over or closed. Never blocks, also while another thread
     * blocks in {@link #send}.
     */
    public boolean isReady() {
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return false;
        }
        try {
            return Native.streamIsReady(h);
        } finally {
            handle.release();
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (0: only looks) until {@link #send} would not wait.
     * For a thread that must learn when a full stream drains without sending; with several
     * threads, prefer {@link #isReady()}.
     */
    public Readiness awaitReady(long timeoutMillis) {
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return Readiness.CLOSED;
        }
        try {
            return Readiness.values()[Native.streamAwaitReady(h, timeoutMillis)];
        } finally {
            handle.release();
        }
    }

    /** Frees the stream (cancelling it when it was not finished); a later close does nothing. */
    @Override
    public void close() {
        handle.free();
    }
}
