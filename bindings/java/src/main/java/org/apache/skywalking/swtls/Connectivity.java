package org.apache.skywalking.swtls;

/**
 * A channel's connectivity, as gRPC channels report it ({@link Channel#connectivity(boolean)}).
 * In the order of the library's numbering ({@code swtls_connectivity} in the C header), which
 * the tests check value by value against the library.
 */
public enum Connectivity {
    /** No connection and none being made (before the first call). */
    IDLE,
    /** A connection is being made. */
    CONNECTING,
    /** Connected to the current backend. */
    READY,
    /** The last attempt to reach the current backend failed; calls will try again. */
    TRANSIENT_FAILURE,
    /** The channel is closed. */
    SHUTDOWN;

    static Connectivity of(int code) {
        Connectivity[] all = values();
        if (code < 0 || code >= all.length) {
            throw new IllegalStateException("unknown connectivity code " + code);
        }
        return all[code];
    }
}
