package org.apache.skywalking.swtls;

/**
 * An error from swtls: a status code, its stable name and a message that names what is at
 * fault (the key, value, file, backend or method).
 *
 * <p>Codes 1 to 16 are the gRPC status codes (the call reached the server, or its deadline,
 * and ended with that status); codes from 100 up are swtls's own (arguments, configuration,
 * files, TLS). The constants below are the same numbers as the C API's {@code SWTLS_STATUS_*}.
 */
public class SwtlsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final int CANCELLED = 1;
    public static final int UNKNOWN = 2;
    public static final int INVALID_ARGUMENT = 3;
    public static final int DEADLINE_EXCEEDED = 4;
    public static final int NOT_FOUND = 5;
    public static final int ALREADY_EXISTS = 6;
    public static final int PERMISSION_DENIED = 7;
    public static final int RESOURCE_EXHAUSTED = 8;
    public static final int FAILED_PRECONDITION = 9;
    public static final int ABORTED = 10;
    public static final int OUT_OF_RANGE = 11;
    public static final int UNIMPLEMENTED = 12;
    public static final int INTERNAL = 13;
    public static final int UNAVAILABLE = 14;
    public static final int DATA_LOSS = 15;
    public static final int UNAUTHENTICATED = 16;
    public static final int NULL_ARGUMENT = 100;
    public static final int INVALID_UTF8 = 101;
    public static final int PANIC = 102;
    public static final int CLOSED = 103;
    public static final int INVALID_METHOD = 104;
    public static final int INVALID_PARAMETER = 105;
    public static final int CONFIG_UNKNOWN_KEY = 200;
    public static final int CONFIG_INVALID_VALUE = 201;
    public static final int CONFIG_INVALID_BACKEND = 202;
    public static final int FILE_NOT_FOUND = 300;
    public static final int FILE_UNREADABLE = 301;
    public static final int CERTIFICATE_INVALID = 302;
    public static final int PRIVATE_KEY_INVALID = 303;
    public static final int KEY_MISMATCH = 304;
    public static final int CLIENT_CERT_INCOMPLETE = 305;
    public static final int TLS_UNKNOWN_ISSUER = 400;
    public static final int TLS_NAME_MISMATCH = 401;
    public static final int TLS_CERTIFICATE_EXPIRED = 402;
    public static final int TLS_BAD_CERTIFICATE = 403;
    public static final int TLS_CLIENT_CERT_REQUIRED = 404;
    public static final int TLS_CLIENT_CERT_REJECTED = 405;
    public static final int TLS_HANDSHAKE_FAILED = 406;
    public static final int SERVER_NOT_TLS = 407;
    public static final int SERVER_REQUIRES_TLS = 408;

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
