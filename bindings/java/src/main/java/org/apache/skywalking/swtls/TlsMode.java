package org.apache.skywalking.swtls;

/** The transport a channel uses, decided when it is built from which files exist (README, "TLS mode"). */
public enum TlsMode {
    /** Plaintext HTTP/2 (h2c): no ca.crt found and force TLS off. */
    PLAINTEXT,
    /** One-way TLS; the server is verified against the configured CA file. */
    TLS,
    /** Mutual TLS: the configured CA file plus client certificate and key. */
    MUTUAL_TLS,
    /** One-way TLS; the server is verified against the system trust store (force TLS, no CA). */
    TLS_SYSTEM_ROOTS,
    /** Mutual TLS with the system trust store (force TLS, no CA, client certificate and key). */
    MUTUAL_TLS_SYSTEM_ROOTS;

    static TlsMode of(long code) {
        TlsMode[] all = values();
        if (code < 0 || code >= all.length) {
            throw new IllegalStateException("unknown TLS mode " + code + " from the native library");
        }
        return all[(int) code];
    }
}
