package org.apache.skywalking.swtls;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What one call may carry beyond its method and message: a timeout, request metadata (sent
 * in addition to the configured {@code agent.authentication} token) and a
 * {@link Cancellation}. Used by {@link Channel#unary(String, byte[], CallOptions)} and
 * {@link Channel#openStream(String, CallOptions)}; a call takes a copy when it starts, so
 * one object may serve many calls. Not thread-safe while it is being built.
 *
 * <p>Metadata keys have only lowercase letters, digits, {@code -}, {@code _} and {@code .};
 * a key ending in {@code -bin} takes any bytes (sent base64-encoded), other keys printable
 * ASCII. Keys reserved by gRPC ({@code grpc-*}) or HTTP/2 ({@code content-type},
 * {@code user-agent}, ...) are refused. A bad key or value makes the call throw
 * {@code INVALID_ARGUMENT} naming the key (values are never shown).
 */
public final class CallOptions {
    private long timeoutMillis;
    private final List<String> keys = new ArrayList<String>();
    private final List<byte[]> values = new ArrayList<byte[]>();
    private Cancellation cancellation;

    public CallOptions() {}

    /** The call's deadline in milliseconds from its start; 0 (the default) means {@code collector.grpc_upstream_timeout}. */
    public CallOptions timeoutMillis(long timeoutMillis) {
        if (timeoutMillis < 0) {
            throw new IllegalArgumentException("timeoutMillis " + timeoutMillis
                    + " is negative (0 means collector.grpc_upstream_timeout)");
        }
        this.timeoutMillis = timeoutMillis;
        return this;
    }

    /** Adds a metadata entry with a text value (a key may be added several times: each value is sent). */
    public CallOptions addMetadata(String key, String value) {
        if (value == null) {
            throw new NullPointerException("metadata value of '" + key + "'");
        }
        return addMetadata(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Adds a metadata entry; binary values need a key ending in {@code -bin}. The bytes are copied. */
    public CallOptions addMetadata(String key, byte[] value) {
        if (key == null) {
            throw new NullPointerException("metadata key");
        }
        if (value == null) {
            throw new NullPointerException("metadata value of '" + key + "'");
        }
        keys.add(key);
        values.add(value.clone());
        return this;
    }

    /** Makes the calls cancellable with {@code cancellation} ({@code null}: not cancellable). */
    public CallOptions cancellation(Cancellation cancellation) {
        this.cancellation = cancellation;
        return this;
    }

    long timeoutMillis() {
        return timeoutMillis;
    }

    Cancellation cancellation() {
        return cancellation;
    }

    String[] metadataKeys() {
        return keys.toArray(new String[0]);
    }

    byte[][] metadataValues() {
        return values.toArray(new byte[0][]);
    }
}
