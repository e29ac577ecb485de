package org.apache.skywalking.swtls;

/**
 * Receives the library's log messages (see {@link Swtls#setLogListener}). Called from any
 * thread, including the library's own threads, and concurrently; it should return quickly.
 * Messages never contain private keys or tokens. Exceptions it throws are ignored.
 */
public interface LogListener {
    void log(LogLevel level, String message);
}
