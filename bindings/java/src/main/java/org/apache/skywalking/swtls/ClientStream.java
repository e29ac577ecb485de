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

    /** Frees the stream (cancelling it when it was not finished); a later close does nothing. */
    @Override
    public void close() {
        handle.free();
    }
}
