package org.apache.skywalking.swtls;

/**
 * An error from swtls: a status code, its stable name and a message that names what is at
 * fault (the key, value, file, backend or method).
 *
 * <p>Codes 1 to 16 are the gRPC status codes (the call reached the server, or its deadline,
 * and ended with that status); codes from 100 up are swtls's own (arguments, configuration,
 * files, TLS). The constants ({@link #UNAUTHENTICATED}, {@link #TLS_UNKNOWN_ISSUER}, ...) are the C
 * API's {@code SWTLS_STATUS_*}, inherited from {@code StatusCodes}, generated from the C header.
 */
public class SwtlsException extends RuntimeException implements StatusCodes {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String statusName;
    private final String detail;

    /** Called by the native library. */
    public SwtlsException(int status, String statusName, String message) {
        super(statusName + ": " + message);
        this.status = status;
        this.statusName = statusName;
        this.detail = message;
    }

    /** The status code, e.g. {@link #UNAUTHENTICATED} (16) or {@link #TLS_UNKNOWN_ISSUER} (400). */
    public int getStatus() {
        return status;
    }

    /** The stable name of the status code, e.g. {@code "UNAUTHENTICATED"}. */
    public String getStatusName() {
        return statusName;
    }

    /** The library's message without the status name in front. */
    public String getDetail() {
        return detail;
    }

    /** True for the gRPC status codes (1 to 16): the call reached the server, or its deadline, and ended so. */
    public boolean isGrpcStatus() {
        return status >= 1 && status <= 16;
    }
}
