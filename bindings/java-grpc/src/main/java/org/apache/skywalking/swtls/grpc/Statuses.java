package org.apache.skywalking.swtls.grpc;

import io.grpc.Status;
import org.apache.skywalking.swtls.SwtlsException;

/**
 * How swtls errors become {@link io.grpc.Status}: gRPC codes 1 to 16 map to themselves with
 * the swtls message as the description; swtls's own codes map as follows, with
 * {@code "<NAME>: <message>"} as the description (e.g. {@code "TLS_UNKNOWN_ISSUER: ..."}), so
 * the precise cause is never lost. The {@link SwtlsException} is the status's cause.
 *
 * <table>
 *   <caption>swtls codes and the gRPC code they become</caption>
 *   <tr><th>swtls code</th><th>gRPC code</th><th>why</th></tr>
 *   <tr><td>400–408 TLS_* and SERVER_NOT_TLS / SERVER_REQUIRES_TLS</td><td>UNAVAILABLE</td>
 *       <td>the backend could not be reached securely: a transport failure, as grpc-java reports a failed handshake</td></tr>
 *   <tr><td>103 CLOSED</td><td>UNAVAILABLE</td><td>the channel was closed, as grpc-java reports a shut-down channel</td></tr>
 *   <tr><td>200–202 CONFIG_*, 300–305 files and keys</td><td>FAILED_PRECONDITION</td>
 *       <td>the configuration or its files must be fixed before calls can work</td></tr>
 *   <tr><td>104 INVALID_METHOD</td><td>INVALID_ARGUMENT</td><td>the method name is not a gRPC path</td></tr>
 *   <tr><td>100 NULL_ARGUMENT, 101 INVALID_UTF8, 102 PANIC, 105 INVALID_PARAMETER</td><td>INTERNAL</td>
 *       <td>a bug in this binding or the library: never the caller's data</td></tr>
 *   <tr><td>any other</td><td>UNKNOWN</td><td></td></tr>
 * </table>
 */
public final class Statuses {
    private Statuses() {}

    /** The gRPC code for a swtls status code (see the table above). */
    public static Status.Code codeOf(int swtlsStatus) {
        if (swtlsStatus >= 1 && swtlsStatus <= 16) {
            return Status.fromCodeValue(swtlsStatus).getCode();
        }
        if (swtlsStatus >= 400 && swtlsStatus < 500) {
            return Status.Code.UNAVAILABLE;
        }
        if (swtlsStatus >= 200 && swtlsStatus < 400) {
            return Status.Code.FAILED_PRECONDITION;
        }
        switch (swtlsStatus) {
            case SwtlsException.CLOSED:
                return Status.Code.UNAVAILABLE;
            case SwtlsException.INVALID_METHOD:
                return Status.Code.INVALID_ARGUMENT;
            case SwtlsException.NULL_ARGUMENT:
            case SwtlsException.INVALID_UTF8:
            case SwtlsException.PANIC:
            case SwtlsException.INVALID_PARAMETER:
                return Status.Code.INTERNAL;
            default:
                return Status.Code.UNKNOWN;
        }
    }

    /** The status for a swtls error: its code mapped, its message as the description, itself as the cause. */
    public static Status of(SwtlsException e) {
        String description = e.isGrpcStatus() ? e.getDetail() : e.getStatusName() + ": " + e.getDetail();
        return Status.fromCode(codeOf(e.getStatus())).withDescription(description).withCause(e);
    }
}
