package org.apache.skywalking.swtls;

/** Library-wide functions: version, status names and log routing. */
public final class Swtls {
    private Swtls() {}

    /** The library and rustls versions, e.g. {@code "swtls/0.1.0 rustls/0.23.46 ring"}. */
    public static String version() {
        return Native.version();
    }

    /** The stable name of a status code, e.g. {@code "UNAUTHENTICATED"}; {@code "UNRECOGNIZED"} for other numbers. */
    public static String statusName(int status) {
        return Native.statusName(status);
    }

    /**
     * Routes the library's log messages of level {@code maxLevel} and more severe to
     * {@code listener}; {@code null} restores the default (warnings and errors on stderr).
     * The setting is process-wide.
     */
    public static void setLogListener(LogListener listener, LogLevel maxLevel) {
        if (listener == null) {
            Native.setLogSink(null, LogLevel.WARN.code);
            return;
        }
        if (maxLevel == null) {
            throw new NullPointerException("maxLevel");
        }
        Native.setLogSink(new Sink(listener), maxLevel.code);
    }

    /** What the native side calls: converts the level and shields it from the listener's exceptions. */
    static final class Sink {
        private final LogListener listener;

        Sink(LogListener listener) {
            this.listener = listener;
        }

        void log(int level, String message) {
            try {
                listener.log(LogLevel.of(level), message);
            } catch (Throwable ignored) {
                // A broken listener must not break the library's threads.
            }
        }
    }
}
