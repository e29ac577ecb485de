package org.apache.skywalking.swtls.grpc;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.Executor;

/** A call that fails at start with a fixed status (a method kind swtls does not carry, a closed channel). */
final class FailedClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
    private final Status status;
    private final Executor executor;

    FailedClientCall(Status status, Executor executor) {
        this.status = status;
        this.executor = executor;
    }

    @Override
    public void start(final Listener<RespT> listener, Metadata headers) {
        executor.execute(new Runnable() {
            @Override
            public void run() {
                listener.onClose(status, new Metadata());
            }
        });
    }

    @Override
    public void request(int numMessages) {}

    @Override
    public void cancel(String message, Throwable cause) {}

    @Override
    public void halfClose() {}

    @Override
    public void sendMessage(ReqT message) {}

    @Override
    public boolean isReady() {
        return false;
    }
}
