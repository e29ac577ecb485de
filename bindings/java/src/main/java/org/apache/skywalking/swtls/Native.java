package org.apache.skywalking.swtls;

/** The JNI entry points (src/jni/). Handles are addresses of Rust objects; 0 means none. */
final class Native {
    static {
        NativeLoader.load();
    }

    private Native() {}

    static native String version();

    static native String statusName(int status);

    static native void configCheck(String key, String value);

    static native String[] configLoadEnv();

    static native long channelNew(String[] entries);

    static native void channelFree(long channel);

    static native int channelTlsMode(long channel);

    static native String channelTlsReason(long channel);

    static native byte[] channelUnary(long channel, String method, byte[] request, long timeoutMillis);

    static native long channelOpenStream(long channel, String method, long timeoutMillis);

    static native void streamSend(long stream, byte[] message);

    static native byte[] streamFinish(long stream);

    static native void streamFree(long stream);

    static native void channelReport(long channel, String method, byte[] message);

    static native void channelFlush(long channel, long timeoutMillis);

    static native void channelClose(long channel, long timeoutMillis);

    static native Stats channelStats(long channel);

    static native void setLogSink(Swtls.Sink sink, int maxLevel);

    // Per-call options (src/jni/call.rs): metadata as parallel arrays, a cancellation handle (0: none).

    static native long cancelNew();

    static native void cancelCancel(long cancel);

    static native void cancelFree(long cancel);

    static native byte[] channelUnaryWith(long channel, String method, byte[] request, long timeoutMillis,
            String[] metadataKeys, byte[][] metadataValues, long cancel);

    static native long channelOpenStreamWith(long channel, String method, long timeoutMillis,
            String[] metadataKeys, byte[][] metadataValues, long cancel);

    static native int channelConnectivity(long channel, boolean tryToConnect);

    // Streams without blocking (src/jni/stream.rs).

    static native void streamCancel(long stream);

    static native boolean streamIsReady(long stream);

    static native int streamAwaitReady(long stream, long timeoutMillis);
}
