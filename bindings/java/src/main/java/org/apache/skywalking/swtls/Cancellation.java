package org.apache.skywalking.swtls;

/**
 * A cancellation flag for calls: give it to calls through {@link CallOptions#cancellation},
 * then {@link #cancel()} from any thread ends them with {@code CANCELLED}, also while they
 * block in another thread; the server sees the calls reset. Once raised it stays raised: use
 * a new one for new calls.
 *
 * <p>It holds a small native object: {@link #close()} it when its calls have returned
 * (close waits for calls still running with it). After close, {@link #cancel()} does
 * nothing and a call given it throws {@code CLOSED}.
 */
public final class Cancellation implements AutoCloseable {
    private final NativeHandle handle;
    private volatile boolean cancelled;

    public Cancellation() {
        this.handle = new NativeHandle(Native.cancelNew(), "cancellation") {
            @Override
            void freeNative(long handle) {
                Native.cancelFree(handle);
            }
        };
    }

    /** Raises the flag: the calls it was given to end with {@code CANCELLED}. Idempotent; never blocks on a call. */
    public void cancel() {
        cancelled = true;
        long h = handle.acquireIfOpen();
        if (h == 0) {
            return;
        }
        try {
            Native.cancelCancel(h);
        } finally {
            handle.release();
        }
    }

    /** True once {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled;
    }

    /** Frees the native flag once calls that use it have returned; a later close does nothing. */
    @Override
    public void close() {
        handle.free();
    }

    /** For a call: the live handle, held until {@link #release()}. */
    long acquire() {
        return handle.acquire();
    }

    void release() {
        handle.release();
    }
}
