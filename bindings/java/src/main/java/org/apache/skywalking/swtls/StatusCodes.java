// Generated from include/swtls.h by tests/abi (`make abi`); `cargo test --test abi` fails when it is
// stale. Do not edit.
package org.apache.skywalking.swtls;

/**
 * The status codes of the C API ({@code enum swtls_status}), which {@link SwtlsException} carries and
 * makes public. Success ({@code SWTLS_STATUS_OK}) is left out: no exception carries it.
 */
interface StatusCodes {
    /** gRPC CANCELLED: the call was cancelled. */
    int CANCELLED = 1;

    /** gRPC UNKNOWN: the server or the transport failed without a more specific status. */
    int UNKNOWN = 2;

    /** gRPC INVALID_ARGUMENT, as returned by the server. */
    int INVALID_ARGUMENT = 3;

    /** gRPC DEADLINE_EXCEEDED: the call did not finish within its deadline. */
    int DEADLINE_EXCEEDED = 4;

    /** gRPC NOT_FOUND, as returned by the server. */
    int NOT_FOUND = 5;

    /** gRPC ALREADY_EXISTS, as returned by the server. */
    int ALREADY_EXISTS = 6;

    /** gRPC PERMISSION_DENIED, as returned by the server. */
    int PERMISSION_DENIED = 7;

    /** gRPC RESOURCE_EXHAUSTED: returned by the server, or a response larger than 50 MiB. */
    int RESOURCE_EXHAUSTED = 8;

    /** gRPC FAILED_PRECONDITION, as returned by the server. */
    int FAILED_PRECONDITION = 9;

    /** gRPC ABORTED, as returned by the server. */
    int ABORTED = 10;

    /** gRPC OUT_OF_RANGE, as returned by the server. */
    int OUT_OF_RANGE = 11;

    /** gRPC UNIMPLEMENTED: the server does not know the method. */
    int UNIMPLEMENTED = 12;

    /** gRPC INTERNAL, as returned by the server or on a protocol violation. */
    int INTERNAL = 13;

    /**
     * gRPC UNAVAILABLE: no backend could be reached (connection refused, name not resolved,
     * connection lost).
     */
    int UNAVAILABLE = 14;

    /** gRPC DATA_LOSS, as returned by the server. */
    int DATA_LOSS = 15;

    /** gRPC UNAUTHENTICATED: the server refused the {@code authentication} token (or its absence). */
    int UNAUTHENTICATED = 16;

    /** A required pointer argument was NULL. */
    int NULL_ARGUMENT = 100;

    /** A string argument was not valid UTF-8. */
    int INVALID_UTF8 = 101;

    /** A Rust panic was caught at the API boundary (a bug in swtls; please report it). */
    int PANIC = 102;

    /** The object was already finished or closed. */
    int CLOSED = 103;

    /** A method path is not of the form {@code /package.Service/Method}. */
    int INVALID_METHOD = 104;

    /** An argument is out of its allowed range. */
    int INVALID_PARAMETER = 105;

    /** A configuration key is not known. */
    int CONFIG_UNKNOWN_KEY = 200;

    /** A configuration value does not parse for its key. */
    int CONFIG_INVALID_VALUE = 201;

    /** An entry of the backend address list is not {@code host:port}. */
    int CONFIG_INVALID_BACKEND = 202;

    /** A file named by the configuration does not exist. */
    int FILE_NOT_FOUND = 300;

    /** A file exists but could not be read. */
    int FILE_UNREADABLE = 301;

    /** A certificate file is empty, not PEM, or holds no usable certificate. */
    int CERTIFICATE_INVALID = 302;

    /** A private key file is empty, not PEM, encrypted, or holds no usable key. */
    int PRIVATE_KEY_INVALID = 303;

    /** The private key does not belong to the client certificate. */
    int KEY_MISMATCH = 304;

    /** Only one of the client certificate and its private key was found. */
    int CLIENT_CERT_INCOMPLETE = 305;

    /**
     * The server's certificate was not issued by a trusted CA (unknown issuer, or a
     * signature that does not verify with the trusted CA of that name).
     */
    int TLS_UNKNOWN_ISSUER = 400;

    /** The server's certificate is not valid for the expected server name. */
    int TLS_NAME_MISMATCH = 401;

    /** The server's certificate is expired or not yet valid. */
    int TLS_CERTIFICATE_EXPIRED = 402;

    /**
     * The server's certificate is invalid for another reason (bad encoding, wrong usage,
     * unsupported algorithm).
     */
    int TLS_BAD_CERTIFICATE = 403;

    /** The server requires a client certificate and none is configured. */
    int TLS_CLIENT_CERT_REQUIRED = 404;

    /** The server rejected the client certificate. */
    int TLS_CLIENT_CERT_REJECTED = 405;

    /**
     * The TLS handshake failed for another reason (no common version or cipher suite, ALPN,
     * an alert from the server).
     */
    int TLS_HANDSHAKE_FAILED = 406;

    /** The client speaks TLS but the server answered in plaintext. */
    int SERVER_NOT_TLS = 407;

    /** The client speaks plaintext but the server expects TLS. */
    int SERVER_REQUIRES_TLS = 408;
}
