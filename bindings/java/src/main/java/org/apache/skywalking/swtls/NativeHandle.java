package org.apache.skywalking.swtls;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Owns one native handle. Calls hold the read lock for their whole duration, so any number
 * of them run at once; freeing takes the write lock, so it waits for calls in flight and
 * a handle is never used after it was freed. After {@link #free}, calls throw {@code CLOSED}.
 */
abstract class NativeHandle {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String what;
    private long handle;

    NativeHandle(long handle, String what) {
        this.handle = handle;
        this.what = what;
    }

    /** Takes the read lock and returns the live handle; pair with {@link #release()}. */
    final long acquire() {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
            throw new SwtlsException(SwtlsException.CLOSED, "CLOSED",
                    "the " + what + " is closed (close() was called); make a new one");
        }
        return handle;
    }

    /** Like {@link #acquire()}, but returns 0 (with no lock held) once freed. */
    final long acquireIfOpen() {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
        }
        return handle;
    }

    final void release() {
        lock.readLock().unlock();
    }

    /** Frees the handle once calls in flight have returned; later calls do nothing. */
    final void free() {
        lock.writeLock().lock();
        try {
            if (handle != 0) {
                long h = handle;
                handle = 0;
                freeNative(h);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    final boolean isFreed() {
        lock.readLock().lock();
        try {
            return handle == 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    abstract void freeNative(long handle);
}
